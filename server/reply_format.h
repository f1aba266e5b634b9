#pragma once
// How the supervisor endpoints answer: JSON in the proto3 JSON mapping (the default, for the web
// dashboard and people), CSV with a header row, RFC 4180 quoting and UTF-8 (for spreadsheets), or
// protobuf (for programs). One place decides which, and renders each query message as CSV.

#include <map>
#include <optional>
#include <string>

#include <google/protobuf/message.h>

#include "common/result.h"
#include "server/http_types.h"
#include "vinculo/v1/sync.pb.h"

namespace vinculo::server {

enum class Format { kJson, kCsv, kProtobuf };

// ?format=json|csv|protobuf wins; else an Accept of application/x-protobuf or text/csv; else JSON.
// InvalidArgument naming "format" for another value.
Result<Format> ChooseFormat(const std::map<std::string, std::string>& query,
                            const std::string& accept);

// `message` as a 200 response in `format`. CSV is defined for the query.proto responses (a
// ChildHistory is rendered as its visit history), starts with a UTF-8 byte order mark, comes as an
// attachment with a file name, and for a visits page that is not the last carries X-Next-Page; any
// other message falls back to JSON.
HttpResponse MessageReply(const google::protobuf::Message& message, Format format);

// The CSV text of a query response (header row first), or nullopt for a message with no table.
std::optional<std::string> CsvOf(const google::protobuf::Message& message);

// The value a conflict kept (`winning`) or lost, as text for a table: for an edit of a deleted
// record the kept value is the tombstone ("deleted").
std::string ConflictValueText(const v1::Conflict& conflict, bool winning);

// One CSV field quoted per RFC 4180 when it needs to be.
std::string CsvField(const std::string& value);

// The query string of a request target, percent-decoded: "/v1/visits?from=2026-06-01&worker=ana".
// InvalidArgument for a malformed escape.
Result<std::map<std::string, std::string>> ParseQueryString(const std::string& target);

}  // namespace vinculo::server
