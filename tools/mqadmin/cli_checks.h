#pragma once
// Argument checks shared by the command files: a Status-returning check becomes a usage error
// (exit 2, one line) instead of a command failure (exit 1).
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "common/status.h"

namespace tidemq::tools {

// A CLI11 check of one option's value from a Status-returning one; `name` is the value's
// placeholder in --help (e.g. "TXN").
CLI::Validator status_validator(std::function<Status(const std::string&)> check, std::string name);

// For checks that span options (run them from a subcommand's parse_complete_callback): throws
// CLI::ValidationError with the status' message when it is not ok, which main reports as a usage
// error.
void require_valid(const Status& st);

}  // namespace tidemq::tools
