#pragma once
// CSV as RFC 4180 writes it, for importing paper forms typed into a spreadsheet: fields separated
// by a comma (or another one-byte delimiter), a field in double quotes may hold the delimiter, a
// line break, or a doubled quote ("") standing for one quote. Records end with CRLF, LF, or a lone
// CR. A UTF-8 byte order mark at the start is dropped. Pure functions, no I/O.
//
// Leniencies, on purpose: lines that are completely empty are skipped (spreadsheets leave them at
// the end); a line break inside a quoted field is kept as "\n" whatever it was in the file (CRLF
// from Excel becomes LF), since stored text uses LF. Nothing else is guessed: a quote inside an
// unquoted field, text after a closing quote, or a quoted field that never ends is an error.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vinculo::client {

// One record of the file, with the number of the line it starts on (1-based, counting physical
// lines, so a record after a field holding a line break has the number a text editor shows).
struct CsvRow {
  size_t line = 0;
  std::vector<std::string> fields;
};

// Every non-empty record of `text`, the header included, in file order. InvalidArgument naming the
// line and what is wrong ("line 7: a quoted field is not closed before the end of the file") for a
// file that is not CSV; nothing is returned then, since what follows an error cannot be trusted.
Result<std::vector<CsvRow>> ParseCsv(std::string_view text, char delimiter = ',');

}  // namespace vinculo::client
