#include "common/civil_time.h"

#include <cstdio>

namespace vinculo {
namespace {

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysIn(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (the era-based method: 400-year cycles of
// 146097 days, years starting in March so that the leap day ends the year).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t day_of_year = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t day_of_era = z - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  *d = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = year_of_era + era * 400 + (*m <= 2 ? 1 : 0);
}

// `count` decimal digits at `pos`, or -1.
int64_t Digits(std::string_view text, size_t pos, size_t count) {
  if (pos + count > text.size()) return -1;
  int64_t value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::optional<int64_t> DatePrefix(std::string_view text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const int64_t y = Digits(text, 0, 4), m = Digits(text, 5, 2), d = Digits(text, 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1 || d > DaysIn(y, static_cast<int>(m))) return std::nullopt;
  return DaysFromCivil(y, static_cast<int>(m), static_cast<int>(d));
}

}  // namespace

std::optional<int64_t> ParseDate(std::string_view text) {
  if (text.size() != 10) return std::nullopt;
  return DatePrefix(text);
}

std::optional<int64_t> ParseTimestamp(std::string_view text) {
  std::optional<int64_t> days = DatePrefix(text);
  if (!days || text.size() < 20 || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const int64_t hh = Digits(text, 11, 2), mm = Digits(text, 14, 2), ss = Digits(text, 17, 2);
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60) return std::nullopt;
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    size_t start = ++pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - start < 3) millis = millis * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) return std::nullopt;
    for (size_t n = pos - start; n < 3; ++n) millis *= 10;
  }
  int64_t offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int64_t oh = Digits(text, pos + 1, 2), om = Digits(text, pos + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59 || pos + 3 >= text.size() || text[pos + 3] != ':') {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const int64_t seconds = *days * 86400 + hh * 3600 + mm * 60 + ss - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::string FormatDate(int64_t days) {
  int64_t y = 0;
  int m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02d-%02d", static_cast<long long>(y), m, d);
  return buffer;
}

std::string UtcDate(int64_t unix_ms) {
  int64_t days = unix_ms / 86'400'000;
  if (unix_ms % 86'400'000 < 0) --days;
  return FormatDate(days);
}

std::string UtcTimestamp(int64_t unix_ms) {
  int64_t days = unix_ms / 86'400'000;
  int64_t rest = unix_ms % 86'400'000;
  if (rest < 0) {
    --days;
    rest += 86'400'000;
  }
  const int64_t s = rest / 1000;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%sT%02lld:%02lld:%02lldZ", FormatDate(days).c_str(),
                static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60));
  return buffer;
}

}  // namespace vinculo
