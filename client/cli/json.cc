#include "client/cli/json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdio>

namespace vinculo::client::cli {
namespace {

namespace pb = google::protobuf;

// The field a JSON key names: its lowerCamel JSON name or its proto name, as the parser accepts.
const pb::FieldDescriptor* FieldForKey(const pb::Descriptor& descriptor, const std::string& key) {
  for (int i = 0; i < descriptor.field_count(); ++i) {
    if (descriptor.field(i)->json_name() == key) return descriptor.field(i);
  }
  return descriptor.FindFieldByName(key);
}

}  // namespace

Result<std::string> ToJson(const pb::Message& message) {
  std::string out;
  pb::util::JsonPrintOptions options;  // lowerCamel names, defaults omitted, no whitespace
  const auto status = pb::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return Error::Internal("cannot print a " + message.GetDescriptor()->name() +
                           " as JSON: " + std::string(status.message()));
  }
  return out;
}

std::string JsonArrayLines(const std::vector<std::string>& elements) {
  if (elements.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t i = 0; i < elements.size(); ++i) {
    out += elements[i];
    out += i + 1 < elements.size() ? ",\n" : "\n";
  }
  out += "]\n";
  return out;
}

std::string JsonQuote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

Result<std::vector<uint32_t>> ParseJsonObject(std::string_view json, pb::Message* message) {
  const pb::Descriptor& descriptor = *message->GetDescriptor();
  // First as a generic object, to learn which keys it names: proto3 fields without presence cannot
  // tell "given as empty" from "not given" once parsed into the message.
  pb::Struct object;
  pb::util::JsonParseOptions options;
  if (!pb::util::JsonStringToMessage(json, &object, options).ok()) {
    return Error::InvalidArgument("must be one JSON object, e.g. {\"givenName\":\"Lucía\"}",
                                  "--json");
  }
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.fields()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());  // the Struct's map has no order; messages must have one
  std::vector<uint32_t> fields;
  std::string unknown;
  for (const std::string& key : keys) {
    if (const pb::FieldDescriptor* f = FieldForKey(descriptor, key)) {
      fields.push_back(static_cast<uint32_t>(f->number()));
    } else {
      unknown += (unknown.empty() ? "" : ", ") + JsonQuote(key);
    }
  }
  if (!unknown.empty()) {
    std::string known;
    for (int i = 0; i < descriptor.field_count(); ++i) {
      known += (i == 0 ? "" : ", ") + descriptor.field(i)->json_name();
    }
    return Error::InvalidArgument(
        "unknown field(s) " + unknown + " in a " + descriptor.name() + " (known: " + known + ")",
        "--json");
  }
  std::sort(fields.begin(), fields.end());
  fields.erase(std::unique(fields.begin(), fields.end()), fields.end());

  message->Clear();
  const auto status = pb::util::JsonStringToMessage(json, message, options);
  if (!status.ok()) {
    return Error::InvalidArgument(std::string(status.message()), "--json");
  }
  return fields;
}

}  // namespace vinculo::client::cli
