#pragma once
// Errors as values. g++ 12 has no std::expected in C++20 mode, so Result<T> is spelled like it:
// has_value(), value(), error(), operator bool, operator*, operator->. Exceptions are for bugs only.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace vinculo {

// What went wrong, for a program (code) and for a person (message). `field` names the offending
// field when there is one, e.g. "home_visit.visited_at".
enum class ErrorCode {
  kInvalidArgument,   // the caller's input breaks a rule; nothing was changed
  kNotFound,          // no such record, user, device, file
  kAlreadyExists,     // a record or object with that identity exists
  kFailedPrecondition,// the state does not allow it (e.g. a store of a newer schema)
  kPermissionDenied,  // authenticated, but not allowed
  kUnauthenticated,   // no or bad credentials
  kClockAhead,        // a remote clock is too far ahead of ours
  kDataLoss,          // a file is damaged or not what it claims to be
  kUnavailable,       // the network or server cannot be reached now; try again later
  kResourceExhausted, // a limit was reached
  kInternal,          // a bug or an unexpected failure of a library
};

// The stable lowercase name of a code ("invalid_argument"), used on the wire and in logs.
const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::string field;

  static Error InvalidArgument(std::string message, std::string field = {}) {
    return {ErrorCode::kInvalidArgument, std::move(message), std::move(field)};
  }
  static Error NotFound(std::string message) { return {ErrorCode::kNotFound, std::move(message), {}}; }
  static Error AlreadyExists(std::string message) {
    return {ErrorCode::kAlreadyExists, std::move(message), {}};
  }
  static Error FailedPrecondition(std::string message) {
    return {ErrorCode::kFailedPrecondition, std::move(message), {}};
  }
  static Error PermissionDenied(std::string message) {
    return {ErrorCode::kPermissionDenied, std::move(message), {}};
  }
  static Error Unauthenticated(std::string message) {
    return {ErrorCode::kUnauthenticated, std::move(message), {}};
  }
  static Error ClockAhead(std::string message) {
    return {ErrorCode::kClockAhead, std::move(message), {}};
  }
  static Error DataLoss(std::string message) { return {ErrorCode::kDataLoss, std::move(message), {}}; }
  static Error Unavailable(std::string message) {
    return {ErrorCode::kUnavailable, std::move(message), {}};
  }
  static Error ResourceExhausted(std::string message) {
    return {ErrorCode::kResourceExhausted, std::move(message), {}};
  }
  static Error Internal(std::string message) { return {ErrorCode::kInternal, std::move(message), {}}; }

  // "field: message" when a field is named, else the message.
  std::string ToString() const { return field.empty() ? message : field + ": " + message; }
};

// Either a T or an Error. REQUIRES: value() only when has_value(), error() only when not.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design, like expected
  Result(Error error) : v_(std::move(error)) {}      // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  // On a temporary Result these return the value itself (moved out), not a reference into the
  // temporary: `for (auto& x : *Load())` must not dangle.
  T value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(v_); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> v_;
};

// Success, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  static Status Ok() { return {}; }
  bool ok() const { return ok_; }
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace vinculo

// Returns the error of a failed Status or Result expression from the enclosing function, whose
// return type is a Status or a Result.
#define VINCULO_RETURN_IF_ERROR(expr)                         \
  do {                                                        \
    if (auto vinculo_status_ = (expr); !vinculo_status_.has_value()) { \
      return vinculo_status_.error();                         \
    }                                                         \
  } while (false)
