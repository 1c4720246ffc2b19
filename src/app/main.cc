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
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <random>
#include <thread>
#include <vector>

#include "app/wiring.h"
#include "config/load.h"
#include "core/clock.h"
#include "ledger/store.h"
#include "policy/keys.h"
#include "reports/report_cli.h"
#include "server/probe.h"
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

// A listening acceptor on `ep` (SO_REUSEPORT when `reuse_port`, so that several can share it).
tcp::acceptor listen_on(net::io_context& ioc, const tcp::endpoint& ep, bool reuse_port) {
  tcp::acceptor a(ioc);
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  int one = 1;
  if (reuse_port &&
      ::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::runtime_error("SO_REUSEPORT is not available");
  }
  a.bind(ep);
  a.listen(net::socket_base::max_listen_connections);
  return a;
}

// Binds one SO_REUSEPORT acceptor per worker on the same address; the kernel spreads new
// connections across them. With port 0 the first bind picks the port and the rest reuse it.
std::vector<tcp::acceptor> bind_acceptors(std::vector<std::unique_ptr<net::io_context>>& iocs,
                                          const sy::config::ServerConfig& server,
                                          tcp::endpoint& bound) {
  std::vector<tcp::acceptor> out;
  tcp::endpoint ep(net::ip::make_address(server.host), server.port);
  for (auto& ioc : iocs) {
    tcp::acceptor a = listen_on(*ioc, ep, true);
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
  auto runtime = sy::app::make_runtime(config);

  std::vector<std::unique_ptr<net::io_context>> iocs;
  for (unsigned i = 0; i < n; ++i) {
    iocs.push_back(std::make_unique<net::io_context>(1));
  }
  tcp::endpoint bound;
  auto acceptors = bind_acceptors(iocs, config->server, bound);

  std::vector<std::unique_ptr<sy::server::Worker>> workers;
  for (unsigned i = 0; i < n; ++i) {
    workers.push_back(std::make_unique<sy::server::Worker>(
        *iocs[i], snapshot, sy::app::make_transports(*config, *shared, *iocs[i], i), runtime,
        std::random_device{}() ^ (0x9E3779B97F4A7C15ull * (i + 1))));
    workers.back()->listen(std::move(acceptors[i]));
  }
  // The admin API's own address (admin.listen), served by the first worker.
  if (config->admin.separate()) {
    tcp::acceptor admin = listen_on(
        *iocs.front(), tcp::endpoint(net::ip::make_address(config->admin.host), config->admin.port),
        false);
    const auto at = admin.local_endpoint();
    workers.front()->listen_admin(std::move(admin));
    spdlog::info("admin API listening on {}:{}", at.address().to_string(), at.port());
  }
  // Active health probes (routes with probe.interval) run on the first worker.
  sy::server::start_probes(*workers.front());

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
  if (runtime->ledger) {
    // Every record of every finished request is written before exit.
    const auto unwritten = runtime->ledger->stop_and_drain(std::chrono::seconds(60));
    if (unwritten > 0) {
      spdlog::error("ledger: {} record(s) could not be written before exit", unwritten);
    } else {
      spdlog::info("ledger: drained ({} records written)", runtime->ledger->stats().written);
    }
  }
  spdlog::info("stopped");
  return 0;
}

// `switchyard report spend|exposure|focus`: options of the chosen report.
struct ReportCommand {
  CLI::App* command = nullptr;
  std::string config_path;
  sy::reports::ReportArgs args;
};

void add_report_commands(CLI::App& app, ReportCommand& report) {
  report.command = app.add_subcommand(
      "report", "Reports from the ledger: spend, provider exposure, FinOps FOCUS export.");
  report.command->require_subcommand(1);
  const std::pair<const char*, const char*> kinds[] = {
      {"spend", "Requests, tokens and cost, grouped (see --group-by)."},
      {"exposure", "Per tenant: provider shares, HHI, max_provider_share; per route tier: "
                   "last success (unproven fallbacks)."},
      {"focus", "FinOps FOCUS CSV: one row per provider/model/tenant/route/day."}};
  for (const auto& [name, description] : kinds) {
    auto* sub = report.command->add_subcommand(name, description);
    sub->add_option("-c,--config", report.config_path, "YAML configuration file")
        ->required()
        ->check(CLI::ExistingFile);
    sub->add_option("--since", report.args.since,
                    "Start (inclusive): YYYY-MM-DD (UTC) or RFC 3339; default 30 days ago");
    sub->add_option("--until", report.args.until,
                    "End (exclusive; a bare date includes that day): YYYY-MM-DD or RFC 3339; "
                    "default now");
    sub->add_option("--format", report.args.format,
                    std::string("table|csv|json (default ") +
                        (std::string_view(name) == "focus" ? "csv" : "table") + ")")
        ->check(CLI::IsMember({"table", "csv", "json"}));
    if (std::string_view(name) == "spend") {
      sub->add_option("--group-by", report.args.group_by,
                      "Comma-separated: tenant,provider,model,route,day,tier")
          ->default_str(report.args.group_by);
    }
    if (std::string_view(name) == "exposure") {
      sub->add_option("--stale-days", report.args.stale_days,
                      "A tier with no success for this long is unproven")
          ->default_str("7");
      sub->add_option("--section", report.args.section, "What --format csv writes")
          ->check(CLI::IsMember({"tenants", "shares", "tiers"}))
          ->default_str(report.args.section);
    }
  }
}

int run_report(ReportCommand& report) {
  for (auto* sub : report.command->get_subcommands()) {
    if (*sub) {
      report.args.kind = sub->get_name();
    }
  }
  auto loaded = sy::config::load_config_file(report.config_path, sy::config::process_env());
  for (const auto& e : loaded.errors) {
    std::cerr << report.config_path << ": " << e.text() << "\n";
  }
  if (!loaded.errors.empty()) {
    return 1;
  }
  const auto& config = *loaded.config;
  auto context = sy::reports::report_context(config, sy::unix_now_ms());
  // The exposure report's max_provider_share targets come from the tenants' policies.
  if (auto checked = sy::reports::check_report_args(report.args, context.now_ms); !checked) {
    std::cerr << "report: " << checked.error().public_message << "\n";
    return 2;
  }
  try {
    auto store = sy::ledger::open_store(config.storage.ledger);
    auto out = sy::reports::render_report(*store, report.args, context);
    if (!out) {
      std::cerr << "report: " << out.error().public_message << "\n";
      return 1;
    }
    std::cout << *out;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "report: cannot open the ledger: " << e.what() << "\n";
    return 1;
  }
}

// `switchyard keys create|list|revoke`: virtual API keys in the ledger's database
// (storage.ledger). The gateway checks them on every request (docs/tenants.md).
struct KeysCommand {
  CLI::App* command = nullptr;
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* revoke = nullptr;
  std::string config_path;
  std::string tenant;
  std::string name;
  std::string expires;
  std::string key_id;
};

void add_keys_commands(CLI::App& app, KeysCommand& keys) {
  keys.command = app.add_subcommand(
      "keys", "Virtual API keys of the configured tenants (stored only as salted hashes in "
              "storage.ledger). A running gateway sees changes within keys.refresh_interval.");
  keys.command->require_subcommand(1);
  keys.create = keys.command->add_subcommand(
      "create", "Create a key for a tenant and print it ONCE (it cannot be shown again).");
  keys.list = keys.command->add_subcommand(
      "list", "List keys: id, tenant, name, created, expires, revoked (never secrets).");
  keys.revoke = keys.command->add_subcommand("revoke", "Revoke a key by its id.");
  for (auto* sub : {keys.create, keys.list, keys.revoke}) {
    sub->add_option("-c,--config", keys.config_path, "YAML configuration file (storage.ledger)")
        ->required()
        ->check(CLI::ExistingFile);
  }
  keys.create
      ->add_option("--tenant", keys.tenant,
                   "A tenant of the configuration (tenants[].name)")
      ->required();
  keys.create->add_option("--name", keys.name, "A label for the key (printable ASCII, <= 128)");
  keys.create->add_option("--expires", keys.expires,
                          "30d, 12h, YYYY-MM-DD (00:00 UTC) or YYYY-MM-DDTHH:MM:SSZ; default "
                          "never");
  keys.list->add_option("--tenant", keys.tenant, "Only this tenant's keys");
  keys.revoke->add_option("key_id", keys.key_id, "The key id (the 12 characters after sk-sy-)")
      ->required();
}

// "YYYY-MM-DDTHH:MM:SSZ", or `zero` for 0.
std::string format_time(std::int64_t ms, const char* zero) {
  return ms == 0 ? std::string(zero) : sy::iso8601_utc(ms);
}

int run_keys(KeysCommand& keys) {
  auto loaded = sy::config::load_config_file(keys.config_path, sy::config::process_env());
  for (const auto& e : loaded.errors) {
    std::cerr << keys.config_path << ": " << e.text() << "\n";
  }
  if (!loaded.errors.empty()) {
    return 1;
  }
  const std::int64_t now = sy::unix_now_ms();
  std::unique_ptr<sy::policy::KeyStore> store;
  try {
    store = sy::policy::open_key_store(loaded.config->storage.ledger);
  } catch (const std::exception& e) {
    std::cerr << "keys: cannot open the ledger: " << e.what() << "\n";
    return 1;
  }
  const auto fail = [](const sy::Error& e) {
    std::cerr << "keys: " << e.public_message;
    if (!e.detail.empty() && e.kind == sy::ErrorKind::Internal) {
      std::cerr << " (" << e.detail << ")";
    }
    std::cerr << "\n";
    return e.kind == sy::ErrorKind::InvalidRequest ? 2 : 1;
  };

  if (*keys.create) {
    if (!loaded.config->find_tenant(keys.tenant)) {
      std::string known;
      for (const auto& t : loaded.config->tenants) {
        known += (known.empty() ? "" : ", ") + t.name;
      }
      std::cerr << "keys: tenant \"" << keys.tenant << "\" is not configured in "
                << keys.config_path << " ("
                << (known.empty() ? std::string("no tenants: the gateway runs open")
                                  : "configured: " + known)
                << "); a key for it would be refused\n";
      return 2;
    }
    auto expires = sy::policy::parse_expiry(keys.expires, now);
    if (!expires) {
      return fail(expires.error());
    }
    auto created = sy::policy::create_key(*store, keys.tenant, keys.name, *expires, now);
    if (!created) {
      return fail(created.error());
    }
    std::cerr << "Created key " << created->record.key_id << " for tenant "
              << created->record.tenant << " (expires "
              << format_time(created->record.expires_ms, "never") << ").\n"
              << "WARNING: this is the only time the key is shown; only a salted hash is "
                 "stored and it cannot be recovered. Store it now.\n";
    std::cout << created->key << "\n";
    return 0;
  }

  if (*keys.list) {
    auto records = store->list(keys.tenant.empty() ? std::nullopt
                                                   : std::optional<std::string>(keys.tenant));
    if (!records) {
      return fail(records.error());
    }
    std::printf("%-12s  %-20s  %-24s  %-20s  %-20s  %s\n", "KEY_ID", "TENANT", "NAME",
                "CREATED", "EXPIRES", "REVOKED");
    for (const auto& r : *records) {
      std::string expires = format_time(r.expires_ms, "never");
      if (r.expires_ms != 0 && r.expires_ms <= now) {
        expires += " (expired)";
      }
      std::printf("%-12s  %-20s  %-24s  %-20s  %-20s  %s\n", r.key_id.c_str(), r.tenant.c_str(),
                  r.name.c_str(), format_time(r.created_ms, "-").c_str(), expires.c_str(),
                  format_time(r.revoked_ms, "-").c_str());
    }
    return 0;
  }

  // revoke: a pasted full key is accepted too, and reduced to its id (never echoed).
  std::string id = keys.key_id;
  if (const auto parsed = sy::policy::parse_key(keys.key_id)) {
    id = std::string(parsed->key_id);
  }
  auto outcome = store->revoke(id, now);
  if (!outcome) {
    return fail(outcome.error());
  }
  switch (*outcome) {
    case sy::policy::RevokeOutcome::Revoked:
      std::cout << "revoked " << id << "\n";
      return 0;
    case sy::policy::RevokeOutcome::AlreadyRevoked:
      std::cout << id << " was already revoked\n";
      return 0;
    case sy::policy::RevokeOutcome::NotFound:
      break;
  }
  std::cerr << "keys: no key with id \"" << id << "\"\n";
  return 1;
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

  ReportCommand report;
  add_report_commands(app, report);

  KeysCommand keys;
  add_keys_commands(app, keys);

  CLI11_PARSE(app, argc, argv);

  if (*check_cmd) {
    return check_config(check_path);
  }
  if (*report.command) {
    return run_report(report);
  }
  if (*keys.command) {
    return run_keys(keys);
  }
  setup_logging(log_level);
  try {
    return serve(serve_config, workers);
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}
