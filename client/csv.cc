#include "client/csv.h"

namespace vinculo::client {
namespace {

Error SyntaxError(size_t line, const std::string& message) {
  return Error::InvalidArgument("line " + std::to_string(line) + ": " + message);
}

}  // namespace

Result<std::vector<CsvRow>> ParseCsv(std::string_view text, char delimiter) {
  if (delimiter == '"' || delimiter == '\r' || delimiter == '\n') {
    return Error::InvalidArgument("the delimiter cannot be a quote or a line break", "delimiter");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  size_t line = 1;
  size_t i = 0;
  const size_t n = text.size();
  // True once the current record has any content (a field separator or a character), so that an
  // empty line is told apart from a record holding one empty field ("").
  bool record_started = false;

  auto end_record = [&] {
    if (record_started) {
      row.fields.push_back(std::move(field));
      rows.push_back(std::move(row));
    }
    row = CsvRow{};
    field.clear();
    record_started = false;
  };
  // Consumes a line break at i (CRLF, LF or CR); returns false when there is none.
  auto line_break = [&]() -> bool {
    if (text[i] == '\r') {
      i += (i + 1 < n && text[i + 1] == '\n') ? 2 : 1;
    } else if (text[i] == '\n') {
      i += 1;
    } else {
      return false;
    }
    ++line;
    return true;
  };

  while (i < n) {
    if (!record_started) row.line = line;
    const char c = text[i];
    if (c == '"') {
      if (!field.empty()) {
        return SyntaxError(line,
                           "a quote inside an unquoted field (quote the whole field and "
                           "double the quotes inside it)");
      }
      record_started = true;
      const size_t opened_on = line;
      ++i;
      for (;;) {
        if (i >= n) {
          return SyntaxError(opened_on, "a quoted field is not closed before the end of the file");
        }
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\r' || text[i] == '\n') {
          line_break();
          field += '\n';
          continue;
        }
        field += text[i++];
      }
      // After the closing quote: a delimiter, a line break or the end.
      if (i < n && text[i] != delimiter && text[i] != '\r' && text[i] != '\n') {
        return SyntaxError(line, "text after the closing quote of a field");
      }
      continue;
    }
    if (c == delimiter) {
      record_started = true;
      row.fields.push_back(std::move(field));
      field.clear();
      ++i;
      continue;
    }
    if (line_break()) {
      end_record();
      continue;
    }
    record_started = true;
    field += c;
    ++i;
  }
  end_record();
  return rows;
}

}  // namespace vinculo::client
