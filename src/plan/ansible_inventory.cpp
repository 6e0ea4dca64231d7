// SPDX-License-Identifier: MIT
// Ansible INI and YAML inventories -> deployd's inventory JSON, every value placed where written.
#include <utility>

#include "plan/ansible_inventory.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "plan/host_pattern.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

// Ansible's connection variables and the deployd keys they set (older `ansible_ssh_*` too).
const std::vector<std::pair<std::string, std::string>>& connection_vars() {
  static const std::vector<std::pair<std::string, std::string>> vars = {
      {"ansible_host", "address"},
      {"ansible_ssh_host", "address"},
      {"ansible_port", "port"},
      {"ansible_ssh_port", "port"},
      {"ansible_user", "user"},
      {"ansible_ssh_user", "user"},
      {"ansible_ssh_private_key_file", "identity"}};
  return vars;
}

std::string deployd_key(const std::string& var) {
  for (const auto& [name, key] : connection_vars())
    if (name == var) return key;
  return "";
}

// Deeper than any real inventory; a YAML alias cannot recurse for ever.
constexpr int kMaxGroupDepth = 100;

struct YamlVar {
  std::string name;
  Json value;
  TextPosition key_at;
  TextPosition value_at;
};
using YamlVars = std::vector<YamlVar>;  // in the order written: a later one wins

struct Member {
  std::string name;
  TextPosition at;
};

struct AnsibleGroup {
  std::string name;
  TextPosition at;
  std::vector<Member> hosts;     // expanded names, each once
  std::vector<Member> children;  // group names
  YamlVars vars;
};

struct AnsibleHost {
  std::string name;
  TextPosition at;
  YamlVars vars;
};

// Groups, hosts and vars as the Ansible file says them; `build` writes the deployd document.
class Model {
 public:
  Model(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  void error(TextPosition at, std::string message) {
    diags_.add(Diagnostic{file_, "", at.line, at.column, std::move(message)});
  }

  AnsibleGroup& group(const std::string& name, TextPosition at) {
    auto found = groups_.find(name);
    if (found != groups_.end()) return found->second;
    group_order_.push_back(name);
    return groups_.emplace(name, AnsibleGroup{name, at, {}, {}, {}}).first->second;
  }

  void add_child(AnsibleGroup& parent, const std::string& child, TextPosition at) {
    group(child, at);
    for (const Member& member : parent.children)
      if (member.name == child) return;
    parent.children.push_back({child, at});
  }

  // The hosts `pattern` (`web[01:03]`, `db1:2222`) names, in `group`, each with `vars`.
  void add_hosts(AnsibleGroup& group, const std::string& pattern, TextPosition at, YamlVars vars) {
    std::string name = pattern;
    // `host:port`, as Ansible's INI writes a port (a colon inside brackets is a range).
    int depth = 0;
    std::size_t colon = std::string::npos;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '[') ++depth;
      if (pattern[i] == ']') --depth;
      if (pattern[i] == ':' && depth == 0) colon = i;
    }
    if (colon != std::string::npos) {
      std::string port = pattern.substr(colon + 1);
      if (port.empty() || !std::all_of(port.begin(), port.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
          })) {
        error(at, fmt::format("bad host {}: expected a port number after \":\"", quote(pattern)));
        return;
      }
      name = pattern.substr(0, colon);
      vars.insert(vars.begin(), YamlVar{"ansible_port", port, at, at});
    }
    Expansion expansion = expand_host_pattern(name);
    if (!expansion.error.empty()) {
      error(at, fmt::format("bad host {}: {}", quote(pattern), expansion.error));
      return;
    }
    for (const std::string& host_name : expansion.names) {
      auto found = hosts_.find(host_name);
      if (found == hosts_.end()) {
        host_order_.push_back(host_name);
        found = hosts_.emplace(host_name, AnsibleHost{host_name, at, {}}).first;
      }
      found->second.vars.insert(found->second.vars.end(), vars.begin(), vars.end());
      if (group.name == "all" || group.name == "ungrouped") continue;
      if (std::none_of(group.hosts.begin(), group.hosts.end(),
                       [&](const Member& m) { return m.name == host_name; }))
        group.hosts.push_back({host_name, at});
    }
  }

  std::unique_ptr<Document> build();

 private:
  int depth_of(const std::string& name, std::set<std::string>& visiting) {
    if (name == "all") return 0;
    if (auto known = depths_.find(name); known != depths_.end()) return known->second;
    if (!visiting.insert(name).second) return 0;  // a cycle: reported by the group reader
    int depth = 1;
    for (const auto& [parent_name, parent] : groups_)
      for (const Member& child : parent.children)
        if (child.name == name) depth = std::max(depth, depth_of(parent_name, visiting) + 1);
    visiting.erase(name);
    return depths_[name] = depth;
  }

  // Every host in `name` or in a group it contains.
  void collect(const std::string& name, std::set<std::string>& hosts, std::set<std::string>& seen) {
    if (!seen.insert(name).second) return;
    const AnsibleGroup& group = groups_.at(name);
    for (const Member& host : group.hosts) hosts.insert(host.name);
    for (const Member& child : group.children) collect(child.name, hosts, seen);
  }

  std::string file_;
  Diagnostics& diags_;
  std::map<std::string, AnsibleGroup> groups_;
  std::vector<std::string> group_order_;
  std::map<std::string, AnsibleHost> hosts_;
  std::vector<std::string> host_order_;
  std::map<std::string, int> depths_;
};

// `ansible_port` is a number to deployd; anything else stays text, for the reader to judge.
Json key_value(const std::string& key, const Json& value) {
  if (key == "port" && value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (!text.empty() && text.size() < 7 && std::all_of(text.begin(), text.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        }))
      return std::stoi(text);
  }
  return value;
}

std::unique_ptr<Document> Model::build() {
  auto doc = std::make_unique<Document>();
  doc->file = file_;
  doc->is_translated = true;
  // The INI or YAML text is not JSON: its source map only holds the positions placed below.
  doc->is_parsed = true;
  Json root = Json::object();
  auto place = [&](const std::string& pointer, TextPosition key, TextPosition value) {
    doc->map.place(pointer, key, value);
  };
  place("", {1, 1}, {1, 1});
  // Where a var goes: a connection key into `keys`, any other into `vars`.
  auto put_var = [&](const YamlVar& var, const std::string& base, Json& keys, Json& vars) {
    std::string key = deployd_key(var.name);
    if (!key.empty()) {
      keys[key] = key_value(key, var.value);
      place(append_pointer(base, key), var.key_at, var.value_at);
    } else {
      vars[var.name] = var.value;
      place(append_pointer(append_pointer(base, "vars"), var.name), var.key_at, var.value_at);
    }
  };

  // Groups: a child before its parents, as Ansible lets a child's vars win; at one depth in
  // reverse name order, as Ansible lets the later name win (deployd: the first group wins).
  std::vector<std::string> order;
  for (const std::string& name : group_order_)
    if (name != "all" && name != "ungrouped") order.push_back(name);
  if (auto ungrouped = groups_.find("ungrouped");
      ungrouped != groups_.end() && !ungrouped->second.vars.empty()) {
    error(ungrouped->second.vars.front().key_at,
          "vars of \"ungrouped\" are not supported: set them on its hosts, or in [all:vars]");
  }
  std::map<std::string, int> depth;
  for (const std::string& name : order) {
    std::set<std::string> visiting;
    depth[name] = depth_of(name, visiting);
  }
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return depth[a] != depth[b] ? depth[a] > depth[b] : a > b;
  });

  // `all`'s vars: connection keys become `defaults` (`ansible_host` has no meaning there).
  Json defaults = Json::object();
  Json vars = Json::object();
  if (auto all = groups_.find("all"); all != groups_.end()) {
    for (const YamlVar& var : all->second.vars) {
      if (deployd_key(var.name) == "address") {
        error(var.key_at, fmt::format("{} in the vars of \"all\" would give every host one address",
                                      quote(var.name)));
        continue;
      }
      std::string key = deployd_key(var.name);
      if (!key.empty()) {
        defaults[key] = key_value(key, var.value);
        place(append_pointer("/defaults", key), var.key_at, var.value_at);
      } else {
        vars[var.name] = var.value;
        place(append_pointer("/vars", var.name), var.key_at, var.value_at);
      }
    }
  }
  if (!defaults.empty()) {
    root["defaults"] = defaults;
    place("/defaults", {}, groups_.at("all").at);
  }

  // Hosts: their own vars, then connection keys their groups set (deployd groups hold no
  // connection keys), in the order above.
  std::map<std::string, std::set<std::string>> members;
  for (const std::string& name : order) {
    std::set<std::string> seen;
    collect(name, members[name], seen);
  }
  Json hosts = Json::array();
  for (std::size_t i = 0; i < host_order_.size(); ++i) {
    const AnsibleHost& host = hosts_.at(host_order_[i]);
    const std::string base = "/hosts/" + std::to_string(i);
    Json entry = {{"name", host.name}};
    Json host_vars = Json::object();
    place(base, {}, host.at);
    place(base + "/name", {}, host.at);
    for (const std::string& group_name : order) {
      if (!members[group_name].count(host.name)) continue;
      // Only keys no group before it set, and the last of them as written.
      const YamlVars& group_vars = groups_.at(group_name).vars;
      for (auto var = group_vars.rbegin(); var != group_vars.rend(); ++var) {
        std::string key = deployd_key(var->name);
        if (key.empty() || entry.contains(key)) continue;
        Json scratch = Json::object();
        put_var(*var, base, entry, scratch);
      }
    }
    // The host's own vars win over every group's.
    Json own = Json::object();
    for (const YamlVar& var : host.vars) put_var(var, base, own, host_vars);
    for (const auto& [key, value] : own.items()) entry[key] = value;
    if (!host_vars.empty()) {
      entry["vars"] = host_vars;
      place(base + "/vars", {}, host.at);
    }
    hosts.push_back(std::move(entry));
  }
  if (!hosts.empty()) root["hosts"] = std::move(hosts);

  Json groups = Json::object();
  for (const std::string& name : order) {
    const AnsibleGroup& group = groups_.at(name);
    const std::string base = append_pointer("/groups", name);
    Json list = Json::array();
    for (const Member& host : group.hosts) list.push_back(host.name);
    for (const Member& child : group.children) list.push_back(child.name);
    std::size_t index = 0;
    for (const auto* side : {&group.hosts, &group.children})
      for (const Member& member : *side)
        place(base + "/hosts/" + std::to_string(index++), {}, member.at);
    Json entry = {{"hosts", list}};
    Json group_vars = Json::object();
    for (const YamlVar& var : group.vars) {
      if (!deployd_key(var.name).empty()) continue;  // given to its hosts above
      group_vars[var.name] = var.value;
      place(append_pointer(base + "/vars", var.name), var.key_at, var.value_at);
    }
    if (!group_vars.empty()) entry["vars"] = group_vars;
    groups[name] = std::move(entry);
    place(base, group.at, group.at);
    place(base + "/hosts", group.at, group.at);
    place(base + "/vars", group.at, group.at);
  }
  if (!groups.empty()) root["groups"] = std::move(groups);
  if (!vars.empty()) {
    root["vars"] = std::move(vars);
    place("/vars", {}, groups_.at("all").at);
  }
  doc->root = std::move(root);
  return doc;
}

// ---------------------------------------------------------------------------------------------
// INI

struct Word {
  std::string text;
  int column = 0;
};

// The words of an INI host line as Ansible's shlex reads them: quotes group and are removed;
// `#` at the start of a word begins a comment.
std::vector<Word> split_words(std::string_view line, std::string& error) {
  std::vector<Word> words;
  char quote_char = 0;
  bool in_word = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote_char) {
      if (c == quote_char)
        quote_char = 0;
      else
        words.back().text += c;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      in_word = false;
      continue;
    }
    if (!in_word) {
      if (c == '#') break;
      words.push_back({"", static_cast<int>(i) + 1});
      in_word = true;
    }
    if (c == '"' || c == '\'')
      quote_char = c;
    else
      words.back().text += c;
  }
  if (quote_char) error = fmt::format("unclosed {} quote", quote(std::string(1, quote_char)));
  return words;
}

std::string trimmed(std::string_view text) {
  std::size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return "";
  std::size_t end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(begin, end - begin + 1));
}

enum class Section { Hosts, YamlVars, Children };

void read_ini(const std::string& text, Model& model) {
  AnsibleGroup* group = &model.group("ungrouped", {1, 1});
  Section section = Section::Hosts;
  int line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_number;
    const std::size_t indent = line.find_first_not_of(" \t\r");
    if (indent == std::string_view::npos || line[indent] == '#' || line[indent] == ';') continue;
    const TextPosition at{line_number, static_cast<int>(indent) + 1};
    auto column = [&](std::size_t offset) {
      return TextPosition{line_number, static_cast<int>(offset) + 1};
    };
    if (line[indent] == '[') {
      // [group], [group:vars] or [group:children], maybe followed by a comment.
      std::size_t close = line.find(']', indent);
      std::string rest = close == std::string_view::npos ? "x" : trimmed(line.substr(close + 1));
      std::string header = close == std::string_view::npos
                               ? ""
                               : std::string(line.substr(indent + 1, close - indent - 1));
      std::size_t colon = header.find(':');
      std::string name = header.substr(0, colon);
      std::string kind = colon == std::string::npos ? "" : header.substr(colon + 1);
      if ((!rest.empty() && rest[0] != '#' && rest[0] != ';') || name.empty() ||
          trimmed(name) != name) {
        model.error(at, fmt::format("bad section header {} (expected [GROUP], [GROUP:vars] or "
                                    "[GROUP:children])",
                                    quote(trimmed(line))));
        group = nullptr;
        continue;
      }
      if (!kind.empty() && kind != "vars" && kind != "children") {
        model.error(column(indent + 1 + colon + 1),
                    fmt::format("unknown section kind {} (expected \"vars\" or \"children\"){}",
                                quote(kind), did_you_mean(kind, {"vars", "children"})));
        group = nullptr;
        continue;
      }
      group = &model.group(name, column(indent + 1));
      section = kind == "vars"       ? Section::YamlVars
                : kind == "children" ? Section::Children
                                     : Section::Hosts;
      continue;
    }
    if (!group) continue;  // inside a bad section: its header's error is enough
    if (section == Section::YamlVars) {
      std::size_t equals = line.find('=');
      std::string name = trimmed(line.substr(0, equals == std::string_view::npos ? 0 : equals));
      if (equals == std::string_view::npos || name.empty()) {
        model.error(at, fmt::format("expected NAME=VALUE in [{}:vars], got {}", group->name,
                                    quote(trimmed(line))));
        continue;
      }
      std::string value = trimmed(line.substr(equals + 1));
      std::size_t value_offset = line.find_first_not_of(" \t", equals + 1);
      if (value_offset == std::string_view::npos) value_offset = equals + 1;
      if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') && value.back() == value[0]) {
        value = value.substr(1, value.size() - 2);
      } else if (std::size_t comment = value.find(" #"); comment != std::string::npos) {
        value = trimmed(value.substr(0, comment));
      }
      group->vars.push_back(YamlVar{name, value, at, column(value_offset)});
      continue;
    }
    std::string error;
    std::vector<Word> words = split_words(line, error);
    if (!error.empty()) {
      model.error(at, error);
      continue;
    }
    if (words.empty()) continue;
    if (section == Section::Children) {
      if (words.size() > 1) {
        model.error(column(static_cast<std::size_t>(words[1].column - 1)),
                    fmt::format("expected one group name a line in [{}:children], got {} after {}",
                                group->name, quote(words[1].text), quote(words[0].text)));
        continue;
      }
      model.add_child(*group, words[0].text, at);
      continue;
    }
    YamlVars vars;
    bool is_bad = false;
    for (std::size_t i = 1; i < words.size(); ++i) {
      const TextPosition word_at{line_number, words[i].column};
      std::size_t equals = words[i].text.find('=');
      if (equals == std::string::npos || equals == 0) {
        model.error(word_at, fmt::format("expected NAME=VALUE after host {}, got {}",
                                         quote(words[0].text), quote(words[i].text)));
        is_bad = true;
        break;
      }
      TextPosition value_at{line_number, words[i].column + static_cast<int>(equals) + 1};
      vars.push_back(YamlVar{words[i].text.substr(0, equals), words[i].text.substr(equals + 1),
                             word_at, value_at});
    }
    if (!is_bad) model.add_hosts(*group, words[0].text, at, std::move(vars));
  }
}

// ---------------------------------------------------------------------------------------------
// YAML

TextPosition position(const YAML::Mark& mark) {
  if (mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string kind_of(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsNull()) return "nothing";
  return quote(node.Scalar());
}

// A var's value: scalars as the text written; lists and mappings as JSON lists and objects.
Json to_json(const YAML::Node& node, int depth) {
  if (depth > kMaxGroupDepth || node.IsNull()) return nullptr;
  if (node.IsScalar()) return node.Scalar();
  Json out = node.IsSequence() ? Json::array() : Json::object();
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (node.IsSequence())
      out.push_back(to_json(*it, depth + 1));
    else
      out[it->first.Scalar()] = to_json(it->second, depth + 1);
  }
  return out;
}

class YamlReader {
 public:
  explicit YamlReader(Model& model) : model_(model) {}

  void read(const YAML::Node& root) {
    if (root.IsNull()) return;
    if (!root.IsMap()) {
      model_.error(
          position(root.Mark()),
          fmt::format("expected a mapping of group names (e.g. \"all:\"), got {}", kind_of(root)));
      return;
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
      if (auto name = key_text(it->first)) read_group(*name, it->first, it->second, 0);
    }
  }

 private:
  std::optional<std::string> key_text(const YAML::Node& key) {
    if (key.IsScalar()) return key.Scalar();
    model_.error(position(key.Mark()), fmt::format("expected a name, got {}", kind_of(key)));
    return std::nullopt;
  }

  TextPosition value_at(const YAML::Node& key, const YAML::Node& value) {
    TextPosition at = position(value.Mark());
    return at.line > 0 ? at : position(key.Mark());
  }

  YamlVars read_vars(const YAML::Node& key, const YAML::Node& node, const std::string& owner) {
    YamlVars vars;
    if (node.IsNull()) return vars;
    if (!node.IsMap()) {
      model_.error(
          value_at(key, node),
          fmt::format("vars of {}: expected a mapping of variables, got {}", owner, kind_of(node)));
      return vars;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (auto name = key_text(it->first))
        vars.push_back(YamlVar{*name, to_json(it->second, 0), position(it->first.Mark()),
                               value_at(it->first, it->second)});
    }
    return vars;
  }

  void read_group(const std::string& name, const YAML::Node& key, const YAML::Node& node,
                  int depth) {
    AnsibleGroup& group = model_.group(name, position(key.Mark()));
    if (depth > kMaxGroupDepth) {
      model_.error(position(key.Mark()),
                   fmt::format("groups nested more than {} deep", kMaxGroupDepth));
      return;
    }
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      model_.error(value_at(key, node),
                   fmt::format("group {}: expected a mapping of \"hosts\", \"vars\" and "
                               "\"children\", got {}",
                               quote(name), kind_of(node)));
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      auto section = key_text(it->first);
      if (!section) continue;
      const YAML::Node value = it->second;  // a copy: it-> is a proxy that dies with the statement
      if (*section == "vars") {
        YamlVars vars = read_vars(it->first, value, "group " + quote(name));
        group.vars.insert(group.vars.end(), vars.begin(), vars.end());
      } else if (*section == "hosts" || *section == "children") {
        if (value.IsNull()) continue;
        if (!value.IsMap()) {
          model_.error(
              value_at(it->first, value),
              fmt::format("{} of group {}: expected a mapping of names, got {}{}", *section,
                          quote(name), kind_of(value),
                          value.IsSequence() ? " (write each name as a key: \"web1:\")" : ""));
          continue;
        }
        for (auto entry = value.begin(); entry != value.end(); ++entry) {
          auto entry_name = key_text(entry->first);
          if (!entry_name) continue;
          if (*section == "children") {
            model_.add_child(model_.group(name, {}), *entry_name, position(entry->first.Mark()));
            read_group(*entry_name, entry->first, entry->second, depth + 1);
          } else {
            YamlVars vars = read_vars(entry->first, entry->second, "host " + quote(*entry_name));
            model_.add_hosts(model_.group(name, {}), *entry_name, position(entry->first.Mark()),
                             std::move(vars));
          }
        }
      } else {
        model_.error(position(it->first.Mark()),
                     fmt::format("group {}: unknown key {} (expected \"hosts\", \"vars\" or "
                                 "\"children\"){}",
                                 quote(name), quote(*section),
                                 did_you_mean(*section, {"hosts", "vars", "children"})));
      }
    }
  }

  Model& model_;
};

}  // namespace

InventoryFormat inventory_format(const std::string& path, std::string_view text) {
  std::string extension = std::filesystem::path(path).extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (extension == ".json") return InventoryFormat::Json;
  if (extension == ".ini") return InventoryFormat::AnsibleIni;
  if (extension == ".yml" || extension == ".yaml") return InventoryFormat::AnsibleYaml;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line = trimmed(text.substr(start, end - start));
    start = end + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '{' || line.rfind("//", 0) == 0 || line.rfind("/*", 0) == 0)
      return InventoryFormat::Json;
    if (line[0] == '[') return InventoryFormat::AnsibleIni;
    if (line.rfind("---", 0) == 0) return InventoryFormat::AnsibleYaml;
    // `all:` or `web: …` is YAML; `web1:2222 ansible_user=x` is an INI host with a port.
    std::size_t colon = line.find(':');
    if (colon != std::string::npos && (colon + 1 == line.size() || line[colon + 1] == ' ') &&
        line.substr(0, colon).find_first_of(" =") == std::string::npos)
      return InventoryFormat::AnsibleYaml;
    return InventoryFormat::AnsibleIni;
  }
  return InventoryFormat::Json;
}

std::unique_ptr<Document> parse_ansible_inventory(std::string text, std::string file,
                                                  InventoryFormat format, Diagnostics& diags) {
  Diagnostics found;
  Model model(file, found);
  if (format == InventoryFormat::AnsibleYaml) {
    try {
      YamlReader(model).read(YAML::Load(text));
    } catch (const YAML::Exception& error) {
      model.error(position(error.mark), "YAML syntax error: " + error.msg);
    }
  } else {
    read_ini(text, model);
  }
  std::unique_ptr<Document> doc = model.build();
  if (!found.empty()) {
    doc->is_parsed = false;
    for (const Diagnostic& error : found.sorted(static_cast<std::size_t>(-1))) diags.add(error);
  }
  return doc;
}

}  // namespace deployd::plan
