#include "server/web_assets.h"

#include <algorithm>

namespace vinculo::server {
namespace {

// Scripts, styles and images from this server only; no inline script or style, no plug-ins, no
// framing, forms post only here. data: images are for the SVG the dashboard may build.
constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// True when an If-None-Match value lists `etag` (or is "*"). Weak comparison, as RFC 9110 asks.
bool Matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  while (!if_none_match.empty()) {
    const size_t comma = if_none_match.find(',');
    std::string_view tag = if_none_match.substr(0, comma);
    if_none_match = comma == std::string_view::npos ? std::string_view()
                                                    : if_none_match.substr(comma + 1);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace

const WebAsset* FindWebAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  const std::span<const WebAsset> assets = WebAssets();
  auto it = std::find_if(assets.begin(), assets.end(),
                         [path](const WebAsset& a) { return a.path == path; });
  return it == assets.end() ? nullptr : &*it;
}

std::optional<HttpResponse> ServeWebAsset(const HttpRequest& request, std::string_view path,
                                          std::string_view if_none_match) {
  const WebAsset* asset = FindWebAsset(path);
  if (asset == nullptr) return std::nullopt;
  HttpResponse r;
  r.headers = {{"Content-Security-Policy", kContentSecurityPolicy},
               {"X-Content-Type-Options", "nosniff"},
               {"X-Frame-Options", "DENY"},
               {"Referrer-Policy", "no-referrer"}};
  if (request.method != "GET" && request.method != "HEAD") {
    r.status = 405;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "use GET\n";
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  // Always revalidate: after an upgrade the browser must not mix old and new files. The ETag makes
  // revalidation cheap when the transport passes If-None-Match.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("ETag", std::string(asset->etag));
  if (Matches(if_none_match, asset->etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.content_type = std::string(asset->content_type);
  if (request.method == "GET") r.body = std::string(asset->body);
  return r;
}

}  // namespace vinculo::server
