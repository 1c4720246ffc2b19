#pragma once
// sy::Result<T> = boost::system::result<T, sy::Error>: a value or an Error, no exceptions.

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <stdexcept>

#include "core/error.h"

namespace sy {

class ErrorException : public std::runtime_error {
 public:
  explicit ErrorException(Error e) : std::runtime_error(e.public_message), error_(std::move(e)) {}
  const Error& error() const { return error_; }

 private:
  Error error_;
};

// Found by ADL when .value() is called on an errored Result.
[[noreturn]] inline void throw_exception_from_error(const Error& e,
                                                    const boost::source_location&) {
  throw ErrorException(e);
}

template <typename T>
using Result = boost::system::result<T, Error>;

inline Error make_error(ErrorKind kind, std::string public_message, std::string code = {},
                        std::string param = {}) {
  return Error::make(kind, std::move(public_message), std::move(code), std::move(param));
}

}  // namespace sy
