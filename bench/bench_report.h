#pragma once
// What the end-to-end benchmark drivers (sync_bench.cc, load_bench.cc, query_bench.cc) share: a
// figure, the JSON file each writes, and how a driver gives up.
//
// The JSON file is read by bench/run.sh with jq, joined into bench/results/latest.json and quoted
// by docs/performance.md, so its shape is a contract: keep keys and figure names stable.
//
//   {"bench":B,"mode":"quick"|"full","figures":[
//     {"name","value","unit","stat","p99","ratio_to_L","target","met","note", <extra>}, ...]
//    <, the driver's own members, e.g. "machine" or "setup">}
//
// Members after "unit" are written only when set, in that order. Header only; no Beast or Asio.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace vinculo::bench {

// One measured figure, as the JSON file and the driver's table show it. Names are stable: run.sh
// and docs/performance.md refer to them.
struct Figure {
  std::string name;
  double value = 0;
  std::string unit;
  std::string stat;                  // what `value` is ("median", "p50"); empty: not written
  std::optional<double> p99;         // latency figures
  std::optional<double> ratio_to_L;  // sync_bench: the value over its plain-SQLite bound L
  std::string target;                // empty: no target
  std::optional<bool> met;           // set together with `target`
  std::string note;                  // empty: not written
  std::string extra_members;         // more JSON members, written last as they are
                                     // ("\"runs\":30,\"rows\":50"); empty: none
};

// `text` as a JSON string literal, quotes included. Control characters become \u00XX; other bytes
// (UTF-8 included) pass through.
inline std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// How a driver writes a number in its JSON: each keeps the precision its published figures have.
using NumberFormat = std::string (*)(double);

// Writes the figures to `path` as the contract above, numbers ("value", "p99", "ratio_to_L") in
// `number`. `more_members`, when not empty, is written after "figures" as it is (e.g.
// "\"machine\":{...}"). Returns an error when `path` cannot be written.
inline Status WriteFiguresJson(const std::string& path, std::string_view bench,
                               std::string_view mode, const std::vector<Figure>& figures,
                               NumberFormat number, std::string_view more_members = {}) {
  std::ofstream out(path);
  if (!out) return Error::Unavailable("cannot write " + path);
  out << "{\"bench\":" << JsonString(bench) << ",\"mode\":" << JsonString(mode) << ",\"figures\":[";
  for (size_t i = 0; i < figures.size(); ++i) {
    const Figure& f = figures[i];
    out << (i == 0 ? "" : ",") << "\n  {\"name\":" << JsonString(f.name)
        << ",\"value\":" << number(f.value) << ",\"unit\":" << JsonString(f.unit);
    if (!f.stat.empty()) out << ",\"stat\":" << JsonString(f.stat);
    if (f.p99) out << ",\"p99\":" << number(*f.p99);
    if (f.ratio_to_L) out << ",\"ratio_to_L\":" << number(*f.ratio_to_L);
    if (!f.target.empty()) out << ",\"target\":" << JsonString(f.target);
    if (f.met) out << ",\"met\":" << (*f.met ? "true" : "false");
    if (!f.note.empty()) out << ",\"note\":" << JsonString(f.note);
    if (!f.extra_members.empty()) out << "," << f.extra_members;
    out << "}";
  }
  out << "\n]";
  if (!more_members.empty()) out << "," << more_members;
  out << "}\n";
  out.close();
  if (!out) return Error::Unavailable("cannot write " + path);
  return Status::Ok();
}

// ---- Giving up: a driver that cannot measure says why on stderr and exits 1.

// The name Die puts before its message. A driver sets it once, first thing in main, before any
// thread starts; it must outlive every call of Die (a string literal does).
inline const char*& DieProgramName() {
  static const char* name = "bench";
  return name;
}

// Prints "PROGRAM: what" to stderr and exits with status 1.
[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", DieProgramName(), what.c_str());
  std::exit(1);
}

// The value of `r`, or Die("what: error").
template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r) Die(what + ": " + r.error().ToString());
  return std::move(r).value();
}

// Die("what: error") unless `s` is ok.
inline void Must(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.error().ToString());
}

}  // namespace vinculo::bench
