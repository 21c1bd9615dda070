# vpnsdk_add_plugin(<name> <sources>...)
# Builds <name>.so, a vpnhost plugin: links only vpnsdk::sdk, hides every
# symbol but the entry point, and fails at link time on undefined symbols.
# In the vpnhost tree the .so lands in VPNSDK_PLUGIN_OUTPUT_DIR and installs
# with the stock plugins.
function(vpnsdk_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE vpnsdk::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${name} PRIVATE LINKER:--no-undefined)
  if(DEFINED VPNSDK_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${VPNSDK_PLUGIN_OUTPUT_DIR})
  endif()
endfunction()

# vpnsdk_install_plugin(<name>): install next to the stock plugins.
function(vpnsdk_install_plugin name)
  install(TARGETS ${name} LIBRARY DESTINATION ${VPNSDK_PLUGIN_INSTALL_DIR})
endfunction()
