#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "server/api.h"
#include "tests/server/server_test_util.h"

namespace vinculo::server {
namespace {

using namespace vinculo::server::testing;

std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

HttpRequest Get(const std::string& target) { return HttpRequest{.method = "GET", .target = target}; }

TEST(WebAssets, EveryFileHasATypeAnETagAndBytes) {
  ASSERT_FALSE(WebAssets().empty());
  for (const WebAsset& a : WebAssets()) {
    SCOPED_TRACE(std::string(a.path));
    EXPECT_TRUE(a.path.starts_with("/"));
    EXPECT_FALSE(a.content_type.empty());
    EXPECT_TRUE(a.etag.size() > 2 && a.etag.front() == '"' && a.etag.back() == '"');
    EXPECT_FALSE(a.body.empty());
  }
}

TEST(WebAssets, RootIsTheIndexPage) {
  const WebAsset* index = FindWebAsset("/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->path, "/index.html");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(FindWebAsset("/index.html"), index);
  EXPECT_EQ(FindWebAsset("/no-such-file.js"), nullptr);
  EXPECT_EQ(FindWebAsset("/v1/visits"), nullptr);
}

// Every file the page and its modules name is embedded: a renamed module fails here, not in a
// browser.
TEST(WebAssets, EveryReferencedFileIsEmbedded) {
  const std::regex html_ref(R"re((?:src|href)="(/[^"#?]*)")re");
  const std::regex js_import(R"re(from '(\.{1,2}/[^']+)')re");
  for (const WebAsset& a : WebAssets()) {
    const std::string body(a.body);
    const std::string path(a.path);
    const std::string dir = path.substr(0, path.rfind('/') + 1);
    if (path.ends_with(".html")) {
      for (std::sregex_iterator it(body.begin(), body.end(), html_ref), end; it != end; ++it) {
        EXPECT_NE(FindWebAsset((*it)[1].str()), nullptr) << path << " names " << (*it)[1];
      }
    }
    if (path.ends_with(".js")) {
      for (std::sregex_iterator it(body.begin(), body.end(), js_import), end; it != end; ++it) {
        std::string target = dir + (*it)[1].str();
        // Resolve ./ and ../ segments.
        for (size_t p; (p = target.find("/./")) != std::string::npos;) target.erase(p, 2);
        for (size_t p; (p = target.find("/../")) != std::string::npos;) {
          const size_t parent = target.rfind('/', p - 1);
          target.erase(parent, p + 3 - parent);
        }
        EXPECT_NE(FindWebAsset(target), nullptr) << path << " imports " << (*it)[1];
      }
    }
  }
}

TEST(WebAssets, ServesWithSecurityAndCacheHeaders) {
  std::optional<HttpResponse> r = ServeWebAsset(Get("/"), "/");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r->body, std::string(FindWebAsset("/")->body));
  EXPECT_TRUE(Header(*r, "Content-Security-Policy")
                  .starts_with("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'"));
  EXPECT_EQ(Header(*r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(*r, "X-Frame-Options"), "DENY");
  EXPECT_EQ(Header(*r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(Header(*r, "Cache-Control"), "no-cache");
  EXPECT_EQ(Header(*r, "ETag"), std::string(FindWebAsset("/")->etag));

  std::optional<HttpResponse> js = ServeWebAsset(Get("/js/app.js"), "/js/app.js");
  ASSERT_TRUE(js.has_value());
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_FALSE(ServeWebAsset(Get("/nope.js"), "/nope.js").has_value());
}

TEST(WebAssets, AnswersNotModifiedForTheCurrentETag) {
  const std::string etag(FindWebAsset("/app.css")->etag);
  std::optional<HttpResponse> r = ServeWebAsset(Get("/app.css"), "/app.css", etag);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 304);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(ServeWebAsset(Get("/app.css"), "/app.css", "W/" + etag + ", \"x\"")->status, 304);
  EXPECT_EQ(ServeWebAsset(Get("/app.css"), "/app.css", "\"stale\"")->status, 200);
}

TEST(WebAssets, HeadHasNoBodyAndOtherMethodsAreRefused) {
  HttpRequest head = Get("/");
  head.method = "HEAD";
  std::optional<HttpResponse> r = ServeWebAsset(head, "/");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  HttpRequest post = Get("/");
  post.method = "POST";
  EXPECT_EQ(ServeWebAsset(post, "/")->status, 405);
}

TEST(WebAssets, TheApiServesTheDashboardAndStill404sUnknownPaths) {
  TempDir dir;
  std::unique_ptr<CentralStore> store = NewCentralStore(dir);
  Api api(*store, ApiOptions{});
  HttpResponse index = api.Handle(Get("/"), kNow);
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(Header(index, "X-Frame-Options"), "DENY");
  EXPECT_EQ(api.Handle(Get("/js/app.js?v=1"), kNow).status, 200);
  EXPECT_EQ(api.Handle(Get("/no-such-page"), kNow).status, 404);
  EXPECT_EQ(api.Handle(Get("/healthz"), kNow).status, 200);
}

}  // namespace
}  // namespace vinculo::server
