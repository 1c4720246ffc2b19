#pragma once
// `switchyard report spend|exposure|focus`: option handling and rendering, apart from main()
// so that it is testable without a real store or a config file.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "ledger/store.h"
#include "reports/exposure.h"
#include "reports/focus.h"

#include "config/schema.h"

namespace sy::reports {

struct ReportArgs {
  std::string kind;                                 // spend | exposure | focus
  std::string since;                                // "" = 30 days before now
  std::string until;                                // "" = now
  std::string group_by = "tenant,provider,model";   // spend only
  std::string format;                               // "" = table (focus: csv)
  double stale_days = 7;                            // exposure only
  std::string section = "tenants";                  // exposure CSV: tenants | shares | tiers
};

// What the configuration contributes.
struct ReportContext {
  std::int64_t now_ms = 0;
  std::vector<RouteTier> expected_tiers;               // every configured route tier
  std::map<std::string, FocusProvider> providers;      // by provider config name
  std::map<std::string, double> max_provider_share;    // tenant -> target
};

// What a configuration contributes to reports: its route tiers, its providers' FOCUS names and
// each tenant's max_provider_share target (tenants[].policy; a tenant without one is absent).
// The report compares every share to the target, whether or not the tenant enforces it.
ReportContext report_context(const config::Config& config, std::int64_t now_ms);

// The window the options select: [since, until). Bare dates are whole UTC days (--until
// 2025-03-31 includes March 31st).
Result<ledger::Filter> report_window(const ReportArgs& args, std::int64_t now_ms);

// Checks every option (report kind, window, format, group-by, ...) without touching the store.
Result<void> check_report_args(const ReportArgs& args, std::int64_t now_ms);

// Runs the report and renders it as text for stdout.
Result<std::string> render_report(ledger::Store& store, const ReportArgs& args,
                                  const ReportContext& context);

}  // namespace sy::reports
