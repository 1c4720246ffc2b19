#include "core/clock.h"

#include <chrono>
#include <cstdio>

namespace sy {

namespace {

std::string format(std::int64_t ms, bool with_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{ms}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<milliseconds>(t - day)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  std::string out(buf);
  if (with_ms) {
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(hms.subseconds().count()));
    out += buf;
  }
  out += 'Z';
  return out;
}

}  // namespace

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso8601_utc(std::int64_t ms) { return format(ms, false); }
std::string iso8601_utc_ms(std::int64_t ms) { return format(ms, true); }

}  // namespace sy
