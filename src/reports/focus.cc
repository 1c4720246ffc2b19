#include "reports/focus.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>

#include "reports/spend.h"

namespace sy::reports {

namespace {

// Indices of the row cells, in focus_columns() order.
enum Col : std::size_t {
  kBillingAccountId,
  kBillingAccountName,
  kBillingCurrency,
  kBillingPeriodStart,
  kBillingPeriodEnd,
  kChargePeriodStart,
  kChargePeriodEnd,
  kChargeCategory,
  kChargeClass,
  kChargeDescription,
  kChargeFrequency,
  kBilledCost,
  kEffectiveCost,
  kListCost,
  kContractedCost,
  kPricingCategory,
  kPricingQuantity,
  kPricingUnit,
  kConsumedQuantity,
  kConsumedUnit,
  kProviderName,
  kPublisherName,
  kInvoiceIssuerName,
  kServiceCategory,
  kServiceSubcategory,
  kServiceName,
  kSkuId,
  kRegionId,
  kRegionName,
  kSubAccountId,
  kSubAccountName,
  kTags,
  kXRoute,
  kXModel,
  kXRequests,
  kXErrors,
  kXInputTokens,
  kXOutputTokens,
  kXCachedInputTokens,
  kXCacheWriteTokens,
  kXReasoningTokens,
  kXUnpricedRequests,
  kColumnCount,
};

// First day of the month containing day_ms, and of the next month (both 00:00 UTC).
std::pair<std::int64_t, std::int64_t> month_bounds(std::int64_t day_ms) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{day_ms / kMsPerDay}}};
  const year_month_day first{ymd.year(), ymd.month(), day{1}};
  const year_month_day next = first + months{1};
  return {sys_days{first}.time_since_epoch().count() * kMsPerDay,
          sys_days{next}.time_since_epoch().count() * kMsPerDay};
}

}  // namespace

FocusProvider focus_provider_for_type(std::string_view name, std::string_view type,
                                      std::string_view region) {
  const std::string n(name);
  FocusProvider p{n, n, n, n, std::string(region)};
  auto set = [&](const char* provider, const char* publisher, const char* issuer,
                 const char* service) {
    p.provider_name = provider;
    p.publisher_name = publisher;
    p.invoice_issuer_name = issuer;
    p.service_name = service;
  };
  if (type == "openai") {
    set("OpenAI", "OpenAI", "OpenAI", "OpenAI API");
  } else if (type == "anthropic") {
    set("Anthropic", "Anthropic", "Anthropic", "Claude API");
  } else if (type == "bedrock") {
    set("Amazon Web Services", "Amazon Web Services", "Amazon Web Services", "Amazon Bedrock");
  } else if (type == "gemini") {
    set("Google", "Google", "Google", "Gemini API");
  } else if (type == "azure-openai") {
    set("Microsoft", "OpenAI", "Microsoft", "Azure OpenAI");
  } else if (type == "simulator") {
    p.service_name = "Switchyard simulator";
  }
  return p;
}

const std::vector<ledger::Dim>& focus_group_by() {
  static const std::vector<ledger::Dim> dims = {ledger::Dim::Day, ledger::Dim::Provider,
                                                ledger::Dim::Model, ledger::Dim::Tenant,
                                                ledger::Dim::Route};
  return dims;
}

const std::vector<std::string>& focus_columns() {
  static const std::vector<std::string> columns = {
      "BillingAccountId",   "BillingAccountName", "BillingCurrency",   "BillingPeriodStart",
      "BillingPeriodEnd",   "ChargePeriodStart",  "ChargePeriodEnd",   "ChargeCategory",
      "ChargeClass",        "ChargeDescription",  "ChargeFrequency",   "BilledCost",
      "EffectiveCost",      "ListCost",           "ContractedCost",    "PricingCategory",
      "PricingQuantity",    "PricingUnit",        "ConsumedQuantity",  "ConsumedUnit",
      "ProviderName",       "PublisherName",      "InvoiceIssuerName", "ServiceCategory",
      "ServiceSubcategory", "ServiceName",        "SkuId",             "RegionId",
      "RegionName",         "SubAccountId",       "SubAccountName",    "Tags",
      "x_Route",            "x_Model",            "x_Requests",        "x_Errors",
      "x_InputTokens",      "x_OutputTokens",     "x_CachedInputTokens",
      "x_CacheWriteTokens", "x_ReasoningTokens",  "x_UnpricedRequests"};
  return columns;
}

FocusReport build_focus(const FocusQuery& query, const std::vector<ledger::AggregateRow>& rows) {
  static_assert(kColumnCount == 42);
  FocusReport report;
  report.filter = query.filter;
  std::vector<const ledger::AggregateRow*> sorted;
  for (const auto& row : rows) {
    if (row.keys.size() != focus_group_by().size()) {
      continue;
    }
    const std::int64_t tokens = row.input_tokens + row.output_tokens;
    if (row.keys[1].empty() && row.cost_micros == 0 && tokens == 0) {
      continue;  // no attempt was made: not a charge
    }
    sorted.push_back(&row);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const ledger::AggregateRow* a, const ledger::AggregateRow* b) {
              return a->keys < b->keys;
            });
  for (const auto* row : sorted) {
    const std::string& day = row->keys[0];
    const std::string& provider = row->keys[1];
    const std::string& model = row->keys[2];
    const std::string& tenant = row->keys[3];
    const std::string& route = row->keys[4];
    FocusProvider info;
    if (auto it = query.providers.find(provider); it != query.providers.end()) {
      info = it->second;
    } else {
      info = FocusProvider{provider, provider, provider, provider, ""};
    }
    std::vector<std::string> cells(kColumnCount);
    cells[kBillingAccountId] = provider;
    cells[kBillingAccountName] = provider;
    cells[kBillingCurrency] = "USD";
    if (auto day_ms = parse_day(day)) {
      const auto [month_start, month_end] = month_bounds(*day_ms);
      cells[kBillingPeriodStart] = format_utc(month_start);
      cells[kBillingPeriodEnd] = format_utc(month_end);
      cells[kChargePeriodStart] = format_utc(*day_ms);
      cells[kChargePeriodEnd] = format_utc(*day_ms + kMsPerDay);
    }
    cells[kChargeCategory] = "Usage";
    cells[kChargeClass] = "";
    cells[kChargeDescription] = model + " tokens via " + provider + " (route " + route +
                                ", tenant " + tenant + ")";
    cells[kChargeFrequency] = "Usage-Based";
    const std::string cost = format_micros(row->cost_micros);
    cells[kBilledCost] = cost;
    cells[kEffectiveCost] = cost;
    cells[kListCost] = cost;
    cells[kContractedCost] = cost;
    const std::string tokens = std::to_string(row->input_tokens + row->output_tokens);
    cells[kPricingCategory] = "Standard";
    cells[kPricingQuantity] = tokens;
    cells[kPricingUnit] = "Tokens";
    cells[kConsumedQuantity] = tokens;
    cells[kConsumedUnit] = "Tokens";
    cells[kProviderName] = info.provider_name;
    cells[kPublisherName] = info.publisher_name;
    cells[kInvoiceIssuerName] = info.invoice_issuer_name;
    cells[kServiceCategory] = "AI and Machine Learning";
    cells[kServiceSubcategory] = "Generative AI";
    cells[kServiceName] = info.service_name;
    cells[kSkuId] = provider + "/" + model;
    cells[kRegionId] = info.region;
    cells[kRegionName] = info.region;
    cells[kSubAccountId] = tenant;
    cells[kSubAccountName] = tenant;
    boost::json::object tags;
    tags["route"] = route;
    tags["tenant"] = tenant;
    cells[kTags] = boost::json::serialize(tags);
    cells[kXRoute] = route;
    cells[kXModel] = model;
    cells[kXRequests] = std::to_string(row->requests);
    cells[kXErrors] = std::to_string(row->errors);
    cells[kXInputTokens] = std::to_string(row->input_tokens);
    cells[kXOutputTokens] = std::to_string(row->output_tokens);
    cells[kXCachedInputTokens] = std::to_string(row->cached_input_tokens);
    cells[kXCacheWriteTokens] = std::to_string(row->cache_write_tokens);
    cells[kXReasoningTokens] = std::to_string(row->reasoning_tokens);
    cells[kXUnpricedRequests] = std::to_string(row->unpriced);
    report.total_cost_micros += row->cost_micros;
    report.rows.push_back(std::move(cells));
  }
  return report;
}

Result<FocusReport> run_focus(ledger::Store& store, const FocusQuery& query) {
  auto rows = store.aggregate(query.filter, focus_group_by());
  if (!rows) {
    return rows.error();
  }
  return build_focus(query, *rows);
}

Table focus_table(const FocusReport& report) {
  Table t;
  t.columns = focus_columns();
  t.rows = report.rows;
  return t;
}

std::string focus_csv(const FocusReport& report) { return render_csv(focus_table(report)); }

boost::json::value focus_to_json(const FocusReport& report) {
  const auto& columns = focus_columns();
  boost::json::array rows;
  for (const auto& cells : report.rows) {
    boost::json::object o;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i == kTags) {
        o[columns[i]] = boost::json::parse(cells[i]);
      } else if (cells[i].empty()) {
        o[columns[i]] = nullptr;
      } else {
        o[columns[i]] = cells[i];
      }
    }
    rows.emplace_back(std::move(o));
  }
  boost::json::object out;
  out["report"] = "focus";
  out["period"] = period_json(report.filter);
  out["total_billed_cost"] = format_micros(report.total_cost_micros);
  out["rows"] = std::move(rows);
  return out;
}

Result<boost::json::value> focus_json(ledger::Store& store, const FocusQuery& query) {
  auto report = run_focus(store, query);
  if (!report) {
    return report.error();
  }
  return focus_to_json(*report);
}

}  // namespace sy::reports
