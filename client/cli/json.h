#pragma once
// JSON in and out for the command line: record messages in the proto3 JSON mapping
// (google/protobuf/util/json_util.h), and the few hand-built objects (status, caseload) around
// them. Output is deterministic — fields in field-number order, no whitespace, no map fields — so
// two devices holding the same records print the same bytes. Pure functions, no I/O.

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace vinculo::client::cli {

// `message` in the proto3 JSON mapping on one line: lowerCamel field names, enum values by name,
// fields holding their default omitted, 64-bit integers as strings. Internal error when protobuf
// refuses to print it (e.g. a string field holding invalid UTF-8).
Result<std::string> ToJson(const google::protobuf::Message& message);

// `elements` (each a JSON value) as a JSON array with one element per line, ending in a newline:
// "[\n<e1>,\n<e2>\n]\n", or "[]\n" when empty.
std::string JsonArrayLines(const std::vector<std::string>& elements);

// `text` as a JSON string literal, quotes included. UTF-8 passes through unchanged; quotes,
// backslashes and control characters are escaped.
std::string JsonQuote(std::string_view text);

// Parses `json`, one JSON object in the proto3 JSON mapping of `message`'s type, into `message`
// (cleared first). Returns the numbers of the fields the object names (a field given as "" or null
// is named: it is being cleared), ascending. InvalidArgument when `json` is not a JSON object, when
// it names fields the message does not have (all of them, in the message), or when a value does not
// fit its field (the parser's complaint).
Result<std::vector<uint32_t>> ParseJsonObject(std::string_view json,
                                              google::protobuf::Message* message);

}  // namespace vinculo::client::cli
