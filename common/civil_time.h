#pragma once
// Calendar dates and RFC 3339 instants as the records carry them, converted to numbers that sort.
// Pure: the caller passes the current time in where one is needed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vinculo {

// Days since 1970-01-01 of a date "YYYY-MM-DD", or nullopt when it is not a real calendar date.
std::optional<int64_t> ParseDate(std::string_view text);

// Unix milliseconds of an RFC 3339 instant ("2026-06-03T10:15:00-05:00", fractional seconds and a
// leap second 60 accepted), or nullopt when it is not one.
std::optional<int64_t> ParseTimestamp(std::string_view text);

// "YYYY-MM-DD" of a day count since 1970-01-01.
std::string FormatDate(int64_t days);

// The UTC date "YYYY-MM-DD" of Unix milliseconds.
std::string UtcDate(int64_t unix_ms);

// The RFC 3339 UTC instant of Unix milliseconds, e.g. "2026-06-03T15:15:00Z".
std::string UtcTimestamp(int64_t unix_ms);

}  // namespace vinculo
