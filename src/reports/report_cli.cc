#include "reports/report_cli.h"

#include <cmath>

#include "reports/spend.h"

namespace sy::reports {

namespace {

Error bad(std::string message, std::string param) {
  return make_error(ErrorKind::InvalidRequest, std::move(message), "invalid_report_option",
                    std::move(param));
}

std::string format_name(const ReportArgs& args) {
  return !args.format.empty() ? args.format : (args.kind == "focus" ? "csv" : "table");
}

}  // namespace

Result<ledger::Filter> report_window(const ReportArgs& args, std::int64_t now_ms) {
  ledger::Filter f;
  f.until_ms = now_ms;
  f.since_ms = now_ms - 30 * kMsPerDay;
  if (!args.since.empty()) {
    auto t = parse_time(args.since, DateBound::Start);
    if (!t) {
      return bad("--since: expected YYYY-MM-DD or an RFC 3339 time, got \"" + args.since + "\"",
                 "since");
    }
    f.since_ms = *t;
  }
  if (!args.until.empty()) {
    auto t = parse_time(args.until, DateBound::End);
    if (!t) {
      return bad("--until: expected YYYY-MM-DD or an RFC 3339 time, got \"" + args.until + "\"",
                 "until");
    }
    f.until_ms = *t;
  }
  if (f.since_ms >= f.until_ms) {
    return bad("--since (" + format_utc(f.since_ms) + ") must be before --until (" +
                   format_utc(f.until_ms) + ")",
               "since");
  }
  return f;
}

Result<void> check_report_args(const ReportArgs& args, std::int64_t now_ms) {
  if (args.kind != "spend" && args.kind != "exposure" && args.kind != "focus") {
    return bad("unknown report \"" + args.kind + "\" (expected spend, exposure or focus)",
               "report");
  }
  if (auto window = report_window(args, now_ms); !window) {
    return window.error();
  }
  if (!parse_format(format_name(args))) {
    return bad("--format: expected table, csv or json, got \"" + format_name(args) + "\"",
               "format");
  }
  if (args.kind == "spend") {
    if (auto dims = parse_group_by(args.group_by); !dims) {
      return bad("--group-by: " + dims.error().public_message, "group_by");
    }
  }
  if (args.kind == "exposure") {
    if (!(args.stale_days > 0) || !std::isfinite(args.stale_days)) {
      return bad("--stale-days must be a positive number of days", "stale_days");
    }
    if (args.section != "tenants" && args.section != "shares" && args.section != "tiers") {
      return bad("--section: expected tenants, shares or tiers, got \"" + args.section + "\"",
                 "section");
    }
  }
  return {};
}

Result<std::string> render_report(ledger::Store& store, const ReportArgs& args,
                                  const ReportContext& context) {
  if (auto checked = check_report_args(args, context.now_ms); !checked) {
    return checked.error();
  }
  const ledger::Filter window = *report_window(args, context.now_ms);
  const OutputFormat format = *parse_format(format_name(args));

  if (args.kind == "spend") {
    auto report = run_spend(store, SpendQuery{window, *parse_group_by(args.group_by)});
    if (!report) {
      return report.error();
    }
    switch (format) {
      case OutputFormat::Table:
        return render_table(spend_table(*report));
      case OutputFormat::Csv:
        return render_csv(spend_table(*report));
      case OutputFormat::Json:
        return render_json(spend_to_json(*report), true);
    }
  }

  if (args.kind == "exposure") {
    ExposureQuery q;
    q.filter = window;
    q.now_ms = context.now_ms;
    q.stale_after_ms = static_cast<std::int64_t>(std::llround(args.stale_days * kMsPerDay));
    q.max_provider_share = context.max_provider_share;
    q.expected_tiers = context.expected_tiers;
    auto report = run_exposure(store, q);
    if (!report) {
      return report.error();
    }
    switch (format) {
      case OutputFormat::Table:
        return exposure_text(*report);
      case OutputFormat::Csv:
        if (args.section == "shares") {
          return render_csv(exposure_shares_table(*report));
        }
        if (args.section == "tiers") {
          return render_csv(exposure_tiers_table(*report));
        }
        return render_csv(exposure_tenants_table(*report));
      case OutputFormat::Json:
        return render_json(exposure_to_json(*report), true);
    }
  }

  auto report = run_focus(store, FocusQuery{window, context.providers});
  if (!report) {
    return report.error();
  }
  switch (format) {
    case OutputFormat::Table:
      return render_table(focus_table(*report));
    case OutputFormat::Csv:
      return focus_csv(*report);
    case OutputFormat::Json:
      return render_json(focus_to_json(*report), true);
  }
  return std::string();
}

ReportContext report_context(const config::Config& config, std::int64_t now_ms) {
  ReportContext context;
  context.now_ms = now_ms;
  for (const auto& route : config.routes) {
    if (!route.core.empty()) {
      context.expected_tiers.push_back({route.name, "core"});
    }
    if (!route.secondary.empty()) {
      context.expected_tiers.push_back({route.name, "secondary"});
    }
    if (!route.fallback.empty()) {
      context.expected_tiers.push_back({route.name, "fallback"});
    }
  }
  for (const auto& p : config.providers) {
    auto region = p.attributes.find("region");
    context.providers[p.name] = focus_provider_for_type(
        p.name, p.type, region != p.attributes.end() ? region->second : p.region);
  }
  for (const auto& t : config.tenants) {
    if (t.policy.max_provider_share) {
      context.max_provider_share[t.name] = *t.policy.max_provider_share;
    }
  }
  return context;
}

}  // namespace sy::reports
