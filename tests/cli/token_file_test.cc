#include "client/cli/token_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace vinculo::client::cli {
namespace {

namespace fs = std::filesystem;

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vinculo-token-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& text, mode_t mode) {
    const std::string path = (dir_ / "token").string();
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  fs::path dir_;
};

TEST_F(TokenFileTest, WriteThenReadWithMode0600) {
  const std::string path = (dir_ / "sync.token").string();
  ASSERT_TRUE(WriteTokenFile(path, "abc123").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  Result<std::string> token = ReadTokenFile(path);
  ASSERT_TRUE(token.has_value()) << token.error().ToString();
  EXPECT_EQ(*token, "abc123");
  // Replacing keeps the mode, also over a file that had a looser one.
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(WriteTokenFile(path, "def456").ok());
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(*ReadTokenFile(path), "def456");
}

TEST_F(TokenFileTest, StricterModesAreAccepted) {
  EXPECT_EQ(*ReadTokenFile(Write("tok\n", 0400)), "tok");
  EXPECT_EQ(*ReadTokenFile(Write("  tok \r\n", 0600)), "tok");
}

TEST_F(TokenFileTest, GroupOrOthersMayNotReadIt) {
  for (mode_t mode : {0640, 0604, 0644, 0660, 0666, 0620}) {
    const std::string path = Write("tok\n", mode);
    Result<std::string> token = ReadTokenFile(path);
    ASSERT_FALSE(token.has_value()) << std::oct << mode;
    EXPECT_EQ(token.error().code, ErrorCode::kFailedPrecondition);
    char expected[8];
    std::snprintf(expected, sizeof expected, "%04o", static_cast<unsigned>(mode));
    EXPECT_NE(token.error().message.find("token file " + path + " has mode " + expected),
              std::string::npos)
        << token.error().message;
    EXPECT_NE(token.error().message.find("chmod 600 " + path), std::string::npos);
  }
}

TEST_F(TokenFileTest, MissingEmptyOrNotAFile) {
  EXPECT_EQ(ReadTokenFile((dir_ / "none").string()).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ReadTokenFile(Write(" \n", 0600)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ReadTokenFile(Write("two words\n", 0600)).error().code, ErrorCode::kInvalidArgument);
  fs::create_directories(dir_ / "d");
  ::chmod((dir_ / "d").c_str(), 0700);
  EXPECT_EQ(ReadTokenFile((dir_ / "d").string()).error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace vinculo::client::cli
