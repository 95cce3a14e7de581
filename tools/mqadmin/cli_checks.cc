#include "tools/mqadmin/cli_checks.h"

namespace tidemq::tools {

CLI::Validator status_validator(std::function<Status(const std::string&)> check, std::string name) {
  return CLI::Validator(
      [check = std::move(check)](std::string& s) -> std::string {
        Status st = check(s);
        return st.is_ok() ? std::string() : st.message();
      },
      std::move(name));
}

void require_valid(const Status& st) {
  if (!st.is_ok()) throw CLI::ValidationError(st.message());
}

}  // namespace tidemq::tools
