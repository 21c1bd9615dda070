# vpnsdk_add_plugin(<name> <sources>...)
# Builds <name>.so, a vpnhost plugin: links only vpnsdk::sdk, hides every
# symbol but the entry point, fails at link time on undefined symbols, and
# compiles with the host's C++ standard (part of the toolchain id the host
# checks). In the vpnhost tree the .so lands in VPNSDK_PLUGIN_OUTPUT_DIR and
# installs with the stock plugins.
function(vpnsdk_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE vpnsdk::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(VPNSDK_CXX_STANDARD)
    set_target_properties(${name} PROPERTIES
      CXX_STANDARD ${VPNSDK_CXX_STANDARD}
      CXX_STANDARD_REQUIRED ON
      CXX_EXTENSIONS OFF)
  endif()
  target_link_options(${name} PRIVATE LINKER:--no-undefined)
  if(DEFINED VPNSDK_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${VPNSDK_PLUGIN_OUTPUT_DIR})
  endif()
  _vpnsdk_check_compiler()
endfunction()

# vpnsdk_install_plugin(<name>): install next to the stock plugins.
function(vpnsdk_install_plugin name)
  install(TARGETS ${name} LIBRARY DESTINATION ${VPNSDK_PLUGIN_INSTALL_DIR})
endfunction()

# Warns (once) when this project's compiler is not the host's: the plugin
# would build, and the host would refuse to load it.
function(_vpnsdk_check_compiler)
  get_property(checked GLOBAL PROPERTY _VPNSDK_COMPILER_CHECKED)
  if(NOT VPNSDK_TOOLCHAIN_COMPILER_ID OR checked)
    return()
  endif()
  set_property(GLOBAL PROPERTY _VPNSDK_COMPILER_CHECKED ON)
  string(REGEX MATCH "^[0-9]+" major "${CMAKE_CXX_COMPILER_VERSION}")
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL VPNSDK_TOOLCHAIN_COMPILER_ID OR NOT major STREQUAL VPNSDK_TOOLCHAIN_COMPILER_MAJOR)
    message(WARNING "vpnsdk: the vpnhost this SDK belongs to was built with ${VPNSDK_TOOLCHAIN_COMPILER_ID} "
      "${VPNSDK_TOOLCHAIN_COMPILER_MAJOR}, this project uses ${CMAKE_CXX_COMPILER_ID} ${major}: the host will "
      "refuse the plugin (\"was built with ...\"). Configure with -DCMAKE_CXX_COMPILER=<the host's compiler>.")
  endif()
endfunction()
