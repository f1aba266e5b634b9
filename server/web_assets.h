#pragma once
// The web dashboard (server/web/*): plain HTML, CSS and JavaScript compiled into the server binary
// by server/web_assets.cmake, served at "/" by the Api (docs/dashboard.md). Nothing is read from
// disk at run time and nothing is loaded from the internet.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "server/http_types.h"

namespace vinculo::server {

// One embedded file. All views point into static storage.
struct WebAsset {
  std::string_view path;          // "/index.html", "/js/app.js"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view etag;          // a strong ETag, quoted: "\"3f9a...\"" (a hash of the bytes)
  std::string_view body;
};

// Every embedded file, sorted by path (defined in the generated web_assets_data.cc).
std::span<const WebAsset> WebAssets();

// The file served for a request path: "/" is "/index.html"; nullptr when there is none.
const WebAsset* FindWebAsset(std::string_view path);

// The response for GET or HEAD of a dashboard path, or nullopt when `path` is not one (the caller
// answers 404 as for any unknown path). Sets the security headers (a Content-Security-Policy that
// allows only the server itself, nosniff, no framing, no referrer), Cache-Control: no-cache and the
// ETag; answers 304 with no body when `if_none_match` (the request's If-None-Match header) names
// the current ETag, and 405 for another method.
std::optional<HttpResponse> ServeWebAsset(const HttpRequest& request, std::string_view path,
                                          std::string_view if_none_match = {});

}  // namespace vinculo::server
