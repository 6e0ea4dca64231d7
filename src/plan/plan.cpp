// SPDX-License-Identifier: MIT
// The few behaviours of the plan's value types: lookups by name and amounts of hosts.
#include "deployd/plan.hpp"

#include <algorithm>

namespace deployd {

const Host* Plan::find_host(const std::string& name) const {
  auto found =
      std::find_if(hosts.begin(), hosts.end(), [&](const Host& host) { return host.name == name; });
  return found == hosts.end() ? nullptr : &*found;
}

const Task* Plan::find_task(const std::string& name) const {
  auto found =
      std::find_if(tasks.begin(), tasks.end(), [&](const Task& task) { return task.name == name; });
  return found == tasks.end() ? nullptr : &*found;
}

Value Value::list(std::vector<Value> items) {
  Value value;
  value.kind = Kind::List;
  value.items = std::move(items);
  return value;
}

Value Value::object(std::vector<std::string> keys, std::vector<Value> items) {
  Value value;
  value.kind = Kind::Object;
  value.keys = std::move(keys);
  value.items = std::move(items);
  return value;
}

const Value* Value::member(std::string_view key) const {
  if (kind == Kind::Object) {
    auto found = std::find(keys.begin(), keys.end(), key);
    return found == keys.end() ? nullptr : &items[static_cast<std::size_t>(found - keys.begin())];
  }
  if (kind != Kind::List || key.empty() || key.size() > 9) return nullptr;
  std::size_t index = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return nullptr;
    index = index * 10 + static_cast<std::size_t>(c - '0');
  }
  if (key.size() > 1 && key.front() == '0') return nullptr;  // `01` is not an index
  return index < items.size() ? &items[index] : nullptr;
}

bool Value::operator==(const Value& other) const {
  return kind == other.kind && text == other.text && items == other.items && keys == other.keys;
}

bool Task::has_host_items() const {
  return std::any_of(steps.begin(), steps.end(), [](const Step& step) { return step.host_items; });
}

Task Task::on_host(const std::string& host) const {
  Task task = *this;
  for (Step& step : task.steps) {
    if (!step.host_items) continue;
    auto found = step.host_items->find(host);
    // A host the loader did not expand for (none: every host of the task is there) has no item.
    static const Step::HostItem kNoItem{{}, "", "empty for_each"};
    const Step::HostItem& item = found == step.host_items->end() ? kNoItem : found->second;
    step.loop_vars = item.loop_vars;
    step.item_label = item.item_label;
    step.loop_skip = item.loop_skip;
    step.host_items = nullptr;
  }
  return task;
}

int Amount::of(int total) const {
  if (!is_percent) return value;
  if (total <= 0 || value <= 0) return 0;
  // Rounded up, so "10%" of 5 hosts is 1 host, never 0.
  long long scaled = static_cast<long long>(value) * total;
  return static_cast<int>((scaled + 99) / 100);
}

}  // namespace deployd
