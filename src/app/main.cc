// switchyard: the gateway binary. `serve` runs it; `check-config` validates a config file.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "app/wiring.h"
#include "config/load.h"
#include "server/snapshot.h"
#include "server/worker.h"

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

void setup_logging(const std::string& level) {
  // Operational logs go to stderr; stdout carries only the JSON access log.
  auto logger = spdlog::stderr_color_mt("switchyard");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(level));
}

std::optional<sy::config::Config> load_or_report(const std::string& path) {
  auto loaded = sy::config::load_config_file(path, sy::config::process_env());
  for (const auto& w : loaded.warnings) {
    spdlog::warn("config: {}", w.text());
  }
  for (const auto& e : loaded.errors) {
    std::cerr << path << ": " << e.text() << "\n";
  }
  if (!loaded.errors.empty()) {
    return std::nullopt;
  }
  return std::move(loaded.config);
}

int check_config(const std::string& path) {
  auto loaded = sy::config::load_config_file(path, sy::config::process_env());
  for (const auto& w : loaded.warnings) {
    std::cerr << path << ": warning: " << w.text() << "\n";
  }
  for (const auto& e : loaded.errors) {
    std::cerr << path << ": " << e.text() << "\n";
  }
  if (!loaded.errors.empty()) {
    std::cerr << loaded.errors.size() << " error(s)\n";
    return 1;
  }
  const auto& c = *loaded.config;
  std::size_t enabled = 0;
  for (const auto& p : c.providers) {
    enabled += p.enabled ? 1 : 0;
  }
  std::cout << path << ": ok (" << c.providers.size() << " providers, " << enabled
            << " enabled; " << c.routes.size() << " routes)\n";
  return 0;
}

// Binds one SO_REUSEPORT acceptor per worker on the same address; the kernel spreads new
// connections across them. With port 0 the first bind picks the port and the rest reuse it.
std::vector<tcp::acceptor> bind_acceptors(std::vector<std::unique_ptr<net::io_context>>& iocs,
                                          const sy::config::ServerConfig& server,
                                          tcp::endpoint& bound) {
  std::vector<tcp::acceptor> out;
  tcp::endpoint ep(net::ip::make_address(server.host), server.port);
  for (auto& ioc : iocs) {
    tcp::acceptor a(*ioc);
    a.open(ep.protocol());
    a.set_option(tcp::acceptor::reuse_address(true));
    int one = 1;
    if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      throw std::runtime_error("SO_REUSEPORT is not available");
    }
    a.bind(ep);
    a.listen(net::socket_base::max_listen_connections);
    if (ep.port() == 0) {
      ep = a.local_endpoint();
    }
    out.push_back(std::move(a));
  }
  bound = ep;
  return out;
}

int serve(const std::string& path, unsigned workers_override) {
  auto loaded = load_or_report(path);
  if (!loaded) {
    return 1;
  }
  auto config = std::make_shared<const sy::config::Config>(std::move(*loaded));
  unsigned n = workers_override ? workers_override : config->server.workers;
  if (n == 0) {
    n = std::max(1u, std::thread::hardware_concurrency());
  }
  std::size_t enabled = 0;
  for (const auto& p : config->providers) {
    enabled += p.enabled ? 1 : 0;
  }
  if (enabled == 0) {
    spdlog::warn("no provider is enabled: every request will get 503");
  }

  auto snapshot = sy::server::Snapshot::build(config);
  auto shared = sy::app::make_shared_state(*config);

  std::vector<std::unique_ptr<net::io_context>> iocs;
  for (unsigned i = 0; i < n; ++i) {
    iocs.push_back(std::make_unique<net::io_context>(1));
  }
  tcp::endpoint bound;
  auto acceptors = bind_acceptors(iocs, config->server, bound);

  std::vector<std::unique_ptr<sy::server::Worker>> workers;
  for (unsigned i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<sy::server::Worker>(
        *iocs[i], snapshot, sy::app::make_transports(*config, *shared, *iocs[i], i)));
    workers.back()->listen(std::move(acceptors[i]));
  }

  // Block the shutdown signals in every thread; the main thread waits for them.
  net::io_context main_ioc(1);
  net::signal_set signals(main_ioc, SIGINT, SIGTERM);

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < n; ++i) {
    threads.emplace_back([&ioc = *iocs[i]] {
      auto guard = net::make_work_guard(ioc);
      ioc.run();
    });
  }
  const std::string addr = bound.address().is_v6()
                               ? "[" + bound.address().to_string() + "]"
                               : bound.address().to_string();
  spdlog::info("listening on {}:{} (workers: {}, providers enabled: {}/{}, routes: {})", addr,
               bound.port(), n, enabled, config->providers.size(), config->routes.size());

  int signal_number = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) {
      signal_number = sig;
    }
  });
  main_ioc.run();

  // Graceful shutdown: stop accepting, let in-flight requests and streams finish, then stop.
  spdlog::info("received signal {}: draining (up to {} ms)", signal_number,
               config->server.drain_timeout.count());
  for (auto& w : workers) {
    net::post(w->ioc(), [wp = w.get()] { wp->begin_drain(); });
  }
  const auto deadline = std::chrono::steady_clock::now() + config->server.drain_timeout;
  auto open = [&] {
    std::size_t total = 0;
    for (auto& w : workers) {
      total += w->open_sessions();
    }
    return total;
  };
  while (open() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::size_t left = open();
  if (left > 0) {
    spdlog::warn("drain timeout: closing {} connection(s) still open", left);
  }
  for (auto& ioc : iocs) {
    ioc->stop();
  }
  for (auto& t : threads) {
    t.join();
  }
  // Destroy workers (and their sockets) before the io_contexts they use.
  workers.clear();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that vanishes must not kill the process

  CLI::App app{"Switchyard: a vendor-neutral AI gateway (OpenAI Chat Completions in, any provider "
               "out)."};
  app.set_version_flag("--version", std::string("switchyard ") + SY_VERSION);
  app.require_subcommand(1);

  std::string serve_config;
  std::string log_level = "info";
  unsigned workers = 0;
  auto* serve_cmd = app.add_subcommand("serve", "Run the gateway.");
  serve_cmd->add_option("-c,--config", serve_config, "YAML configuration file")
      ->required()
      ->check(CLI::ExistingFile);
  serve_cmd->add_option("--workers", workers, "Worker threads (overrides server.workers)");
  serve_cmd->add_option("--log-level", log_level, "trace|debug|info|warn|error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  std::string check_path;
  auto* check_cmd = app.add_subcommand(
      "check-config", "Validate a configuration file; print every error with its YAML path. "
                      "Exit 0 when valid, 1 otherwise.");
  check_cmd->add_option("file", check_path, "YAML configuration file")->required();

  CLI11_PARSE(app, argc, argv);

  if (*check_cmd) {
    return check_config(check_path);
  }
  setup_logging(log_level);
  try {
    return serve(serve_config, workers);
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}
