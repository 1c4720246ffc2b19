#pragma once
// FinOps FOCUS export: one row per provider / model / tenant / route / UTC day, with the FOCUS
// 1.x column names (see docs/reports.md for the mapping). Costs are exact decimal strings from
// integer micro-dollars. The route is part of the grouping so that every row's Tags object
// names exactly one tenant and one route.

#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ledger/store.h"
#include "reports/format.h"

namespace sy::reports {

// How a configured provider (by its config name) appears in FOCUS. Every field defaults to the
// provider's config name (region: empty) when the provider is not in FocusOptions::providers.
struct FocusProvider {
  std::string provider_name;        // ProviderName (who made the service available)
  std::string publisher_name;       // PublisherName (who produced it)
  std::string invoice_issuer_name;  // InvoiceIssuerName (who invoices)
  std::string service_name;         // ServiceName
  std::string region;               // RegionId and RegionName; "" = null
};

// A FocusProvider from a provider's config type ("openai", "bedrock", ...) and region.
FocusProvider focus_provider_for_type(std::string_view name, std::string_view type,
                                      std::string_view region);

struct FocusQuery {
  ledger::Filter filter;
  std::map<std::string, FocusProvider> providers;  // by provider config name
};

// The dimensions of one FOCUS row, in Store::aggregate order.
const std::vector<ledger::Dim>& focus_group_by();

// The header, in its stable order: FOCUS columns first, then x_ custom columns.
const std::vector<std::string>& focus_columns();

struct FocusReport {
  ledger::Filter filter;
  std::vector<std::vector<std::string>> rows;  // cells in focus_columns() order
  ledger::Micros total_cost_micros = 0;        // sum of BilledCost
};

// Pure: rows = Store::aggregate(filter, focus_group_by()). Rows without a provider that carry
// neither cost nor tokens (no attempt was made) are left out: they are not a charge.
FocusReport build_focus(const FocusQuery& query, const std::vector<ledger::AggregateRow>& rows);
Result<FocusReport> run_focus(ledger::Store& store, const FocusQuery& query);

Table focus_table(const FocusReport& report);
// RFC 4180 CSV with CRLF line ends (the export finance gets).
std::string focus_csv(const FocusReport& report);
// An array of objects keyed by column name; decimals stay strings, Tags stays a JSON object.
boost::json::value focus_to_json(const FocusReport& report);
Result<boost::json::value> focus_json(ledger::Store& store, const FocusQuery& query);

}  // namespace sy::reports
