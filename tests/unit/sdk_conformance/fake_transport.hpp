// An in-process transport pair for testing the loopback kit itself: frames
// are copied into fresh pool buffers and delivered through the io_context.
// One deliberate bug can be switched on.
#pragma once
#include <algorithm>
#include <memory>
#include <vector>

#include <boost/asio/post.hpp>

#include "vpnsdk/asio.hpp"
#include "vpnsdk/transport.hpp"

namespace fakes {

enum class TransportBug {
  none,
  reentrant_close,  // close() calls closed() at once, from inside the host's call
  reorder,          // a batch arrives in reverse order
  loses_last,       // the last frame of every batch of more than one is lost
  no_unknown_check, // send() to an unknown session returns ok
  keeps_buffers,    // holds on to every frame it sent, even after stop()
};

class FakeTransport;
struct Link {
  FakeTransport* server = nullptr;
  FakeTransport* client = nullptr;
};

class FakeTransport final : public vpnsdk::Transport {
 public:
  FakeTransport(boost::asio::io_context& io, vpnsdk::PacketPool& pool, std::shared_ptr<Link> link, bool server,
                TransportBug bug)
      : io_(io), pool_(pool), link_(std::move(link)), server_(server), bug_(bug) {}

  vpnsdk::Overhead overhead() const override { return {4, 0}; }

  vpnsdk::Status start(vpnsdk::TransportSink& sink) override {
    sink_ = &sink;
    if (server_) {
      link_->server = this;
      return {};
    }
    link_->client = this;
    boost::asio::post(io_, [this] {
      if (link_->server == nullptr || sink_ == nullptr) return;
      open_ = true;
      sink_->opened({kId, vpnsdk::Role::initiator, {"127.0.0.1", 5000}});
      link_->server->accept();
    });
    return {};
  }

  vpnsdk::Status send(vpnsdk::SessionId id, vpnsdk::Batch frames) override {
    if (id != kId || !open_) {
      if (bug_ == TransportBug::no_unknown_check) return {};
      return vpnsdk::Status::error(vpnsdk::Code::drop_no_route, "no such session");
    }
    auto batch = std::make_shared<std::vector<vpnsdk::PacketPtr>>();
    for (auto& f : frames) {
      vpnsdk::PacketPtr p = pool_.acquire();
      if (!p || !p->append(f->bytes())) return vpnsdk::Status::error(vpnsdk::Code::drop_overflow, "pool");
      p->meta.frame_type = f->meta.frame_type;
      p->meta.session = kId;
      batch->push_back(std::move(p));
      if (bug_ == TransportBug::keeps_buffers) kept_.push_back(std::move(f));
    }
    if (bug_ == TransportBug::reorder) std::reverse(batch->begin(), batch->end());
    if (bug_ == TransportBug::loses_last && batch->size() > 1) batch->pop_back();
    FakeTransport* peer = server_ ? link_->client : link_->server;
    boost::asio::post(io_, [peer, batch] {
      if (peer->sink_ != nullptr && peer->open_) peer->sink_->received(kId, vpnsdk::Batch(batch->data(), batch->size()));
    });
    return {};
  }

  void close(vpnsdk::SessionId id, const vpnsdk::Status& why) override {
    if (id != kId || !open_) return;
    open_ = false;
    if (bug_ == TransportBug::reentrant_close) {
      sink_->closed(kId, why);
    } else {
      boost::asio::post(io_, [this, why] {
        if (sink_ != nullptr) sink_->closed(kId, why);
      });
    }
    FakeTransport* peer = server_ ? link_->client : link_->server;
    boost::asio::post(io_, [peer] { peer->peer_closed(); });
  }

  void stop() override {
    sink_ = nullptr;
    open_ = false;
  }

 private:
  static constexpr vpnsdk::SessionId kId = 1;

  void accept() {
    boost::asio::post(io_, [this] {
      if (sink_ == nullptr) return;
      open_ = true;
      sink_->opened({kId, vpnsdk::Role::responder, {"127.0.0.1", 40000}});
    });
  }
  void peer_closed() {
    if (!open_ || sink_ == nullptr) return;
    open_ = false;
    sink_->closed(kId, vpnsdk::Status::error(vpnsdk::Code::io, "peer closed"));
  }

  boost::asio::io_context& io_;
  vpnsdk::PacketPool& pool_;
  std::shared_ptr<Link> link_;
  bool server_;
  TransportBug bug_;
  vpnsdk::TransportSink* sink_ = nullptr;
  bool open_ = false;
  std::vector<vpnsdk::PacketPtr> kept_;
};

}  // namespace fakes
