// SPDX-License-Identifier: MIT
// A model case and its one-line JSON text (see model_case.hpp).
#include "model/model_case.hpp"

namespace deployd::model {

FailPoint parse_fail(const std::string& text) {
  FailPoint point;
  std::size_t at = text.find('@');
  std::size_t hash = text.rfind('#');
  if (at == std::string::npos || hash == std::string::npos || hash < at) return point;
  point.task = text.substr(0, at);
  point.host = text.substr(at + 1, hash - at - 1);
  std::size_t times = text.find('x', hash);
  point.step = std::stoi(
      text.substr(hash + 1, times == std::string::npos ? std::string::npos : times - hash - 1));
  if (times != std::string::npos) point.attempts = std::stoi(text.substr(times + 1));
  return point;
}

std::string fail_text(const FailPoint& point) {
  return point.task + "@" + point.host + "#" + std::to_string(point.step) +
         (point.attempts > 0 ? "x" + std::to_string(point.attempts) : "");
}

std::string to_text(const Case& c) {
  Json json;
  json["plan"] = c.plan;
  if (!c.names.empty()) json["names"] = c.names;
  if (!c.limit.empty()) json["limit"] = c.limit;
  if (!c.fail.empty()) json["fail"] = c.fail;
  if (!c.unreachable.empty()) json["unreachable"] = c.unreachable;
  if (!c.unchanged.empty()) json["unchanged"] = c.unchanged;
  if (c.sessions > 0) json["sessions"] = c.sessions;
  if (c.retry) json["retry"] = true;
  if (!c.retry_fail.empty()) json["retry_fail"] = c.retry_fail;
  if (!c.retry_unreachable.empty()) json["retry_unreachable"] = c.retry_unreachable;
  return json.dump();
}

Case case_from_text(std::string_view text) {
  Json json = Json::parse(text);
  Case c;
  c.plan = json.at("plan");
  auto strings = [&](const char* key) {
    return json.contains(key) ? json[key].get<std::vector<std::string>>()
                              : std::vector<std::string>{};
  };
  c.names = strings("names");
  c.limit = strings("limit");
  c.fail = strings("fail");
  c.unreachable = strings("unreachable");
  c.unchanged = strings("unchanged");
  c.sessions = json.value("sessions", 0);
  c.retry = json.value("retry", false);
  c.retry_fail = strings("retry_fail");
  c.retry_unreachable = strings("retry_unreachable");
  return c;
}

}  // namespace deployd::model
