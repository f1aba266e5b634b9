#include "server/reply_format.h"

#include <google/protobuf/util/json_util.h>

#include <cstring>
#include <sstream>

#include "common/enum_names.h"
#include "common/record.h"
#include "vinculo/v1/query.pb.h"

namespace vinculo::server {
namespace {

std::string Friendly(const google::protobuf::EnumDescriptor* type, int value) {
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByNumber(value);
  return v == nullptr ? std::to_string(value) : EnumFriendlyName(*v);
}

template <typename E>
std::string Friendly(E value) {
  return Friendly(google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ";") + s;
  return out;
}

std::string Number(double value) {
  std::ostringstream out;
  out.precision(10);
  out << value;
  return out.str();
}

// Rows of CSV: each a vector of already-formatted cells.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { Add(std::move(header)); }
  void Add(const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) text_ += (i ? "," : "") + CsvField(cells[i]);
    text_ += "\r\n";
  }
  std::string text() && { return std::move(text_); }

 private:
  std::string text_;
};

void AddVisit(Table& t, const v1::HomeVisit& v, const std::string& region,
              const std::string& child_name) {
  t.Add({v.id(), v.child_id(), child_name, v.family_id(), v.worker(), v.visited_at(),
         Friendly(v.kind()),
         Join(v.attendees()), v.observations(), Friendly(v.risk_assessment()), v.agreed_actions(),
         v.next_visit_due(), v.has_latitude() ? Number(v.latitude()) : "",
         v.has_longitude() ? Number(v.longitude()) : "", region});
}

const std::vector<std::string> kVisitHeader = {
    "id",     "child_id",        "child_name",     "family_id",      "worker",  "visited_at",
    "kind",   "attendees",       "observations",   "risk_assessment", "agreed_actions",
    "next_visit_due", "latitude", "longitude",      "region"};

// The one field a conflict's record carries, as text.
std::string ConflictValue(const v1::Record& record, uint32_t field_number) {
  const google::protobuf::Message* m = RecordMessage(record);
  if (m == nullptr) return "";
  const auto* field = m->GetDescriptor()->FindFieldByNumber(static_cast<int>(field_number));
  if (field == nullptr) return "";
  const auto* r = m->GetReflection();
  if (field->is_repeated()) {
    std::string out;
    for (int i = 0; i < r->FieldSize(*m, field); ++i) {
      out += (i ? ";" : "") + r->GetRepeatedString(*m, field, i);
    }
    return out;
  }
  switch (field->cpp_type()) {
    case google::protobuf::FieldDescriptor::CPPTYPE_STRING: return r->GetString(*m, field);
    case google::protobuf::FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(*m, field) ? "yes" : "no";
    case google::protobuf::FieldDescriptor::CPPTYPE_ENUM:
      return Friendly(field->enum_type(), r->GetEnumValue(*m, field));
    case google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE:
      return r->HasField(*m, field) ? Number(r->GetDouble(*m, field)) : "";
    default: return "";
  }
}

// "visits.csv", "caseload.csv", ...: from the message type.
std::string CsvFileName(const google::protobuf::Message& message) {
  std::string name = message.GetDescriptor()->name();
  for (const char* suffix : {"Response", "History"}) {
    const size_t at = name.rfind(suffix);
    if (at != std::string::npos && at + std::strlen(suffix) == name.size()) name.resize(at);
  }
  std::string out;
  for (char c : name) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out += '-';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out + ".csv";
}

}  // namespace

std::string ConflictValueText(const v1::Conflict& c, bool winning) {
  if (!winning) return ConflictValue(c.losing(), c.field());
  // A delete wins as the tombstone, whatever field it is logged under.
  if (c.kind() == v1::CONFLICT_KIND_EDIT_OF_DELETED || c.kind() == v1::CONFLICT_KIND_DELETE_OF_EDITED) {
    return "deleted";
  }
  return ConflictValue(c.winning(), c.field());
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::optional<std::string> CsvOf(const google::protobuf::Message& message) {
  if (const auto* m = dynamic_cast<const v1::VisitsResponse*>(&message)) {
    Table t(kVisitHeader);
    for (int i = 0; i < m->visits_size(); ++i) {
      AddVisit(t, m->visits(i), i < m->regions_size() ? m->regions(i) : "",
               i < m->child_names_size() ? m->child_names(i) : "");
    }
    return std::move(t).text();
  }
  if (const auto* m = dynamic_cast<const v1::ChildHistory*>(&message)) {
    Table t(kVisitHeader);
    const std::string name = m->child().given_name() + " " + m->child().family_name();
    for (const v1::HomeVisit& v : m->visits()) AddVisit(t, v, m->child().region(), name);
    return std::move(t).text();
  }
  if (const auto* m = dynamic_cast<const v1::CaseloadResponse*>(&message)) {
    Table t({"region", "worker", "open_cases", "visits", "overdue", "from", "to"});
    for (const v1::CaseloadRow& r : m->rows()) {
      t.Add({r.region(), r.worker(), std::to_string(r.open_cases()), std::to_string(r.visits()),
             std::to_string(r.overdue()), m->from(), m->to()});
    }
    return std::move(t).text();
  }
  if (const auto* m = dynamic_cast<const v1::OverdueResponse*>(&message)) {
    Table t({"child_id", "given_name", "family_name", "region", "assigned_worker", "programme",
             "last_visit_at", "next_visit_due", "days_overdue", "reason"});
    for (const v1::OverdueCase& c : m->cases()) {
      t.Add({c.child_id(), c.given_name(), c.family_name(), c.region(), c.assigned_worker(),
             c.programme(), c.last_visit_at(), c.next_visit_due(),
             std::to_string(c.days_overdue()), c.reason()});
    }
    return std::move(t).text();
  }
  if (const auto* m = dynamic_cast<const v1::OutcomesResponse*>(&message)) {
    Table t({m->by(), "reintegrated", "placed_in_family_care", "entered_institutions",
             "left_institutions", "institution_population"});
    for (const v1::OutcomeRow& r : m->rows()) {
      t.Add({r.key(), std::to_string(r.reintegrated()), std::to_string(r.placed_in_family_care()),
             std::to_string(r.entered_institutions()), std::to_string(r.left_institutions()),
             std::to_string(r.institution_population())});
    }
    return std::move(t).text();
  }
  if (const auto* m = dynamic_cast<const v1::ConflictsResponse*>(&message)) {
    Table t({"id", "region", "record_type", "record_id", "child_id", "field", "kind", "kept", "lost",
             "detected_at", "resolved_at", "resolved_by", "resolution"});
    for (const v1::ConflictEntry& e : m->conflicts()) {
      const v1::Conflict& c = e.conflict();
      t.Add({std::to_string(e.id()), e.region(), std::string(RecordTypeName(e.type())),
             c.record_id(), e.child_id(), c.field_name(), Friendly(c.kind()),
             ConflictValueText(c, true), ConflictValueText(c, false), e.detected_at(),
             e.resolved_at(),
             e.resolved_by(), e.resolution()});
    }
    return std::move(t).text();
  }
  if (const auto* m = dynamic_cast<const v1::AuditResponse*>(&message)) {
    Table t({"at", "username", "device_id", "remote", "action", "child_id", "record_type",
             "record_id"});
    for (const v1::AuditEntry& a : m->entries()) {
      t.Add({a.at(), a.username(), a.device_id(), a.remote(), a.action(), a.child_id(),
             std::string(RecordTypeName(a.record_type())), a.record_id()});
    }
    return std::move(t).text();
  }
  return std::nullopt;
}

Result<Format> ChooseFormat(const std::map<std::string, std::string>& query,
                            const std::string& accept) {
  auto it = query.find("format");
  if (it != query.end()) {
    if (it->second == "json") return Format::kJson;
    if (it->second == "csv") return Format::kCsv;
    if (it->second == "protobuf") return Format::kProtobuf;
    return Error::InvalidArgument("must be json, csv or protobuf", "format");
  }
  if (accept.find("application/x-protobuf") != std::string::npos) return Format::kProtobuf;
  if (accept.find("text/csv") != std::string::npos) return Format::kCsv;
  return Format::kJson;
}

HttpResponse MessageReply(const google::protobuf::Message& message, Format format) {
  HttpResponse r;
  if (format == Format::kProtobuf) {
    r.content_type = "application/x-protobuf";
    r.body = message.SerializeAsString();
    return r;
  }
  if (format == Format::kCsv) {
    if (std::optional<std::string> csv = CsvOf(message)) {
      r.content_type = "text/csv; charset=utf-8";
      // The byte order mark tells spreadsheets the text is UTF-8 (accents show right in Excel).
      r.body = "\xEF\xBB\xBF" + std::move(*csv);
      r.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"" + CsvFileName(message) + "\"");
      // A page that is not the last says where the next one starts; the overdue list also says
      // how many cases it has on all pages.
      if (const auto* visits = dynamic_cast<const v1::VisitsResponse*>(&message);
          visits != nullptr && !visits->next_page().empty()) {
        r.headers.emplace_back("X-Next-Page", visits->next_page());
      }
      if (const auto* overdue = dynamic_cast<const v1::OverdueResponse*>(&message)) {
        if (!overdue->next_page().empty()) r.headers.emplace_back("X-Next-Page", overdue->next_page());
        r.headers.emplace_back("X-Total-Count", std::to_string(overdue->total()));
      }
      return r;
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.always_print_enums_as_ints = false;
  r.content_type = "application/json; charset=utf-8";
  (void)google::protobuf::util::MessageToJsonString(message, &r.body, options);
  return r;
}

Result<std::map<std::string, std::string>> ParseQueryString(const std::string& target) {
  std::map<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string::npos) return out;
  auto decode = [](std::string_view in) -> std::optional<std::string> {
    std::string s;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        s += ' ';
      } else if (in[i] == '%') {
        if (i + 2 >= in.size()) return std::nullopt;
        auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          return -1;
        };
        const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        s += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        s += in[i];
      }
    }
    return s;
  };
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::optional<std::string> key = decode(pair.substr(0, eq));
    std::optional<std::string> value =
        decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key || !value) return Error::InvalidArgument("malformed query string", "query");
    out[*key] = *value;
  }
  return out;
}

}  // namespace vinculo::server
