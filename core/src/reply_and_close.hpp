// The end of a request/answer connection, shared by the control socket and
// the metrics endpoint: write the answer, half-close, then discard what the
// client still sends until it closes (bounded by the connection's timer).
// Closing with unread input would reset the connection and could lose the
// answer on its way.
#pragma once
#include <cstddef>
#include <memory>
#include <type_traits>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

namespace vpnhost::detail {

// Conn has members: sock (an Asio stream socket), timer, reply (std::string)
// and chunk (a scratch array).
template <class Conn>
void drain_then_close(std::shared_ptr<Conn> self) {
  self->sock.async_read_some(boost::asio::buffer(self->chunk),
                             [self](const boost::system::error_code& ec, std::size_t) {
                               if (!ec) return drain_then_close(self);
                               boost::system::error_code ignored;
                               self->sock.close(ignored);
                               self->timer.cancel();
                             });
}

template <class Conn>
void reply_and_close(std::shared_ptr<Conn> self) {
  boost::asio::async_write(self->sock, boost::asio::buffer(self->reply),
                           [self](const boost::system::error_code& ec, std::size_t) {
                             boost::system::error_code ignored;
                             if (ec) {
                               self->sock.close(ignored);
                               self->timer.cancel();
                               return;
                             }
                             using Socket = std::decay_t<decltype(self->sock)>;
                             self->sock.shutdown(Socket::shutdown_send, ignored);
                             drain_then_close(self);
                           });
}

}  // namespace vpnhost::detail
