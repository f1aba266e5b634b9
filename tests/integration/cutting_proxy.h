#pragma once
// A TCP proxy on 127.0.0.1 that can cut a connection in the middle of the server's reply: the next
// connection is closed after `cut_after` bytes have flowed from the server to the client. Used to
// show that a sync cut off mid-response and retried duplicates nothing.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace vinculo::testing {

class CuttingProxy {
 public:
  explicit CuttingProxy(uint16_t target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listen_fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~CuttingProxy() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    for (std::thread& t : pipes_) t.join();
  }

  uint16_t port() const { return port_; }

  // The next connection is cut after this many bytes from the server (0: no cut).
  void CutNextAfter(uint64_t bytes) { cut_after_ = bytes; }
  int cuts() const { return cuts_; }
  // Connections accepted so far.
  int connections() const { return connections_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      ++connections_;
      int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(target_port_);
      if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(client);
        close(server);
        continue;
      }
      const uint64_t cut = cut_after_.exchange(0);
      pipes_.emplace_back([this, client, server, cut] { Pipe(client, server, cut); });
    }
  }

  void Pipe(int client, int server, uint64_t cut) {
    uint64_t downstream = 0;
    char buffer[16 * 1024];
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    while (!stop_) {
      if (poll(fds, 2, 100) < 0) break;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const int from = fds[i].fd, to = fds[1 - i].fd;
        size_t want = sizeof buffer;
        if (from == server && cut > 0) want = std::min<uint64_t>(want, cut - downstream);
        const ssize_t n = read(from, buffer, want);
        if (n <= 0) {
          done = true;
          break;
        }
        if (write(to, buffer, static_cast<size_t>(n)) != n) done = true;
        if (from == server) {
          downstream += static_cast<uint64_t>(n);
          if (cut > 0 && downstream >= cut) {
            ++cuts_;
            done = true;
          }
        }
      }
      if (done) break;
    }
    close(client);
    close(server);
  }

  uint16_t target_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> cut_after_{0};
  std::atomic<int> cuts_{0};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> pipes_;
};

}  // namespace vinculo::testing
