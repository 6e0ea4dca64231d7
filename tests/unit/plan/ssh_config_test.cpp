// SPDX-License-Identifier: MIT
// Tests of src/plan/ssh_config.cpp (the parser) and of ssh_config in host resolution
// (src/plan/host_resolver.cpp): every keyword, negation, Match, Include, tokens, precedence.
#include "plan/ssh_config.hpp"

#include <doctest/doctest.h>

#include "support/plan_text.hpp"
#include "support/temp_folder.hpp"

using namespace deployd;
using deployd::plan::SshConfig;
using deployd::plan::SshConfigContext;
using deployd::testing::TempFolder;

namespace {

const SshConfigContext kContext{"/home/me", "me"};

SshConfig parse(std::string_view text) { return SshConfig::parse(text, "cfg", kContext); }

std::string value(const SshConfig& config, const std::string& host, const std::string& keyword) {
  auto found = config.lookup(host);
  const auto* entry = found.find(keyword);
  return entry ? entry->text : "<unset>";
}

std::string issues(const std::vector<plan::SshConfigIssue>& list) {
  std::string out;
  for (const auto& issue : list)
    out += (out.empty() ? "" : "\n") + issue.file + ":" + std::to_string(issue.line) + ": " +
           issue.message;
  return out;
}

/// Loads a plan whose hosts read `config` (written to a temporary file) as their ssh_config.
LoadResult with_config(const TempFolder& dir, std::string_view config, std::string_view plan_json) {
  LoadOptions options = testing::test_options();
  options.ssh_config = dir.write("ssh_config", config);
  return testing::load_text(plan_json, options);
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("ssh_config: each supported keyword is read for a matching Host block") {
    SshConfig config = parse(R"(
# a comment
Host web
  HostName 127.0.0.5
  User deploy
  Port 2200
  IdentityFile ~/.ssh/web_key
  IdentitiesOnly yes
  ProxyJump jump@bastion:2222
  StrictHostKeyChecking accept-new
  UserKnownHostsFile ~/.ssh/known_web
  ConnectTimeout 7
  ServerAliveInterval 30s
)");
    CHECK(issues(config.errors()) == "");
    CHECK(issues(config.warnings()) == "");
    auto web = config.lookup("web");
    CHECK(web.find("hostname")->text == "127.0.0.5");
    CHECK(web.find("hostname")->where() == "cfg:4");
    CHECK(web.find("user")->text == "deploy");
    CHECK(web.find("port")->text == "2200");
    CHECK(web.find("identitiesonly")->text == "yes");
    CHECK(web.find("proxyjump")->text == "jump@bastion:2222");
    CHECK(web.find("stricthostkeychecking")->text == "accept-new");
    CHECK(web.find("userknownhostsfile")->text == "~/.ssh/known_web");
    CHECK(web.find("connecttimeout")->text == "7");
    CHECK(web.find("serveraliveinterval")->text == "30s");
    REQUIRE(web.identity_files.size() == 1);
    CHECK(web.identity_files[0].text == "~/.ssh/web_key");
    CHECK(config.lookup("db").values.empty());
  }

  TEST_CASE("ssh_config: the first obtained value wins and IdentityFile accumulates") {
    SshConfig config = parse(
        "Host web*\n  User first\n  IdentityFile a\nHost *\n  User second\n  Port 2222\n"
        "  IdentityFile b\n");
    auto web = config.lookup("web1");
    CHECK(web.find("user")->text == "first");
    CHECK(web.find("port")->text == "2222");
    REQUIRE(web.identity_files.size() == 2);
    CHECK(web.identity_files[0].text == "a");
    CHECK(web.identity_files[1].text == "b");
    CHECK(value(config, "db", "user") == "second");
  }

  TEST_CASE("ssh_config: keywords are case-insensitive, `=` and quotes are accepted") {
    SshConfig config = parse("host web\n  HOSTNAME=10.example\n  user = \"a b\"  # trailing\n");
    CHECK(value(config, "web", "hostname") == "10.example");
    CHECK(value(config, "web", "user") == "a b");
  }

  TEST_CASE("ssh_config: Host patterns with *, ? and ! negation") {
    SshConfig config = parse("Host web?? !web13 db-*\n  User matched\n");
    CHECK(value(config, "web12", "user") == "matched");
    CHECK(value(config, "WEB12", "user") == "matched");
    CHECK(value(config, "web13", "user") == "<unset>");  // negated
    CHECK(value(config, "web1", "user") == "<unset>");
    CHECK(value(config, "db-main", "user") == "matched");
    // A negated pattern alone never matches anything.
    CHECK(value(parse("Host !web\n  User x\n"), "db", "user") == "<unset>");
  }

  TEST_CASE("ssh_config: Match host compares with the HostName, originalhost with the alias") {
    SshConfig config = parse(
        "Host alias\n  HostName real.example\n"
        "Match host real.example\n  User by-hostname\n"
        "Match originalhost alias\n  Port 2201\n"
        "Match host *.example,!other.example\n  IdentityFile k\n"
        "Match !host real.example\n  ConnectTimeout 3\n"
        "Match all\n  ServerAliveInterval 9\n");
    CHECK(issues(config.warnings()) == "");
    auto alias = config.lookup("alias");
    CHECK(alias.find("user")->text == "by-hostname");
    CHECK(alias.find("port")->text == "2201");
    CHECK(alias.identity_files.size() == 1);
    CHECK(alias.find("connecttimeout") == nullptr);
    CHECK(alias.find("serveraliveinterval")->text == "9");
    auto other = config.lookup("other.example");
    CHECK(other.find("user") == nullptr);
    CHECK(other.identity_files.empty());
    CHECK(other.find("connecttimeout")->text == "3");
  }

  TEST_CASE("ssh_config: Match user and localuser; unsupported criteria warn and never match") {
    SshConfig config = parse(
        "Match localuser me\n  User remote\nMatch user remote\n  Port 2202\n"
        "Match exec \"true\"\n  ConnectTimeout 1\n");
    CHECK(value(config, "h", "user") == "remote");
    CHECK(value(config, "h", "port") == "2202");
    CHECK(value(config, "h", "connecttimeout") == "<unset>");
    CHECK(issues(config.warnings()) ==
          "cfg:5: unsupported Match criterion \"exec\": the block never applies");
  }

  TEST_CASE(
      "ssh_config: unsupported keywords are ignored with one warning each, named as written") {
    SshConfig config = parse(
        "Host *\n  ForwardAgent yes\n  BatchMode yes\n  ForwardAgent no\n  User u\n  SendEnv "
        "LANG\n");
    CHECK(value(config, "h", "user") == "u");
    CHECK(issues(config.warnings()) ==
          "cfg:2: unsupported keyword \"ForwardAgent\" ignored\n"
          "cfg:3: keyword \"BatchMode\" does not apply to deployd: ignored\n"
          "cfg:6: unsupported keyword \"SendEnv\" ignored");
    std::vector<bool> quiet;
    for (const plan::SshConfigIssue& issue : config.warnings()) quiet.push_back(issue.is_quiet);
    CHECK(quiet == std::vector<bool>{false, true, false});
  }

  TEST_CASE("ssh_config: keywords that do not matter to deployd are quiet (issue 19)") {
    SshConfig config = parse(
        "Host *\n  ControlMaster auto\n  ControlPath ~/.ssh/cm-%r@%h:%p\n  ControlPersist 10m\n"
        "  ForwardAgent no\n  Compression yes\n  HashKnownHosts yes\n  AddKeysToAgent yes\n"
        "  ServerAliveCountMax 3\n");
    for (const plan::SshConfigIssue& issue : config.warnings()) {
      CHECK_MESSAGE(issue.is_quiet, issue.message);
    }
    CHECK(config.warnings().size() == 8);
  }

  TEST_CASE("bug: ssh_config messages quoted the file's bytes raw, ESC and BEL included") {
    SshConfig config = parse(
        "\x1b]0;title\x07Keyword yes\nPort \"\xc2\x9b"
        "1\"\n");
    CHECK(issues(config.warnings()) ==
          "cfg:1: unsupported keyword \"\\u001b]0;title\\u0007Keyword\" ignored");
    CHECK(issues(config.errors()) ==
          "cfg:2: bad Port \"\\u009b1\" (expected a number from 1 to 65535)");
  }

  TEST_CASE("ssh_config: bad values are errors that name file:line") {
    SshConfig config = parse(
        "Host a\n  Port 99999\n  Port x\n  IdentitiesOnly maybe\n  StrictHostKeyChecking sure\n"
        "  ConnectTimeout soon\n  ProxyJump a@@b\n  User\n  HostName \"open\n");
    CHECK(issues(config.errors()) ==
          "cfg:2: bad Port \"99999\" (expected a number from 1 to 65535)\n"
          "cfg:3: bad Port \"x\" (expected a number from 1 to 65535)\n"
          "cfg:4: bad IdentitiesOnly \"maybe\" (expected yes or no)\n"
          "cfg:5: bad StrictHostKeyChecking \"sure\" (expected yes, accept-new, no, off or ask)\n"
          "cfg:6: bad ConnectTimeout \"soon\" (expected seconds, e.g. 10 or 10s)\n"
          "cfg:7: bad ProxyJump hop \"a@@b\" (expected [user@]host[:port])\n"
          "cfg:8: \"User\" needs a value\n"
          "cfg:9: unterminated quote");
  }

  TEST_CASE("ssh_config: Include reads globs relative to ~/.ssh, keeping the includer's block") {
    TempFolder dir;
    const std::string base = dir.path().string();
    dir.write("conf.d-1", "User from-include-1\nHost other\n  Port 2299\n");
    dir.write("conf.d-2", "Port 2300\n");
    SshConfigContext context{"/home/me", "me"};
    SshConfig config =
        SshConfig::parse("Host web\n  Include " + base +
                             "/conf.d-*\n  IdentityFile after\nHost db\n  User db-user\n",
                         "cfg", context);
    CHECK(issues(config.errors()) == "");
    auto web = config.lookup("web");
    CHECK(web.find("user")->text == "from-include-1");
    CHECK(web.find("user")->file == base + "/conf.d-1");
    CHECK(web.find("port")->text == "2300");
    // The Host line inside the include did not end the `Host web` block of the includer.
    CHECK(web.identity_files.size() == 1);
    // An Include inside a block that does not match applies nothing.
    CHECK(value(config, "db", "user") == "db-user");
    CHECK(value(config, "db", "port") == "<unset>");
    // Relative paths start in ~/.ssh.
    std::filesystem::create_directory(base + "/.ssh");
    std::ofstream(base + "/.ssh/rel.conf") << "User rel\n";
    SshConfig relative =
        SshConfig::parse("Include rel.conf\n", "cfg", SshConfigContext{base, "me"});
    CHECK(issues(relative.errors()) == "");
    CHECK(value(relative, "h", "user") == "rel");
  }

  TEST_CASE("ssh_config: an unreadable Include is an error naming file:line") {
    TempFolder dir;
    const std::string folder = dir.write("secret", "User x\n");
    std::filesystem::create_directory(folder + ".d");
    // A folder matched by the glob cannot be read as a file.
    SshConfig config = parse("Host *\n  Include " + folder + ".d\n");
    REQUIRE(config.errors().size() == 1);
    CHECK(config.errors()[0].line == 2);
    CHECK(config.errors()[0].message.starts_with("cannot read Include \"" + folder + ".d\""));
    // A glob that matches nothing is not an error (as in OpenSSH).
    CHECK(parse("Include /nonexistent/deployd-*\n").errors().empty());
  }

  TEST_CASE("ssh_config: tokens %h %n %r %u %p %d %% and ~ are expanded") {
    plan::SshTokens tokens{"127.0.0.9", "web", "deploy", "me", "2200", "/home/me"};
    std::string error;
    CHECK(plan::expand_ssh_tokens("~/.ssh/%n-%h-%r-%u-%p-%d-%%", tokens, error) ==
          "/home/me/.ssh/web-127.0.0.9-deploy-me-2200-/home/me-%");
    CHECK(error == "");
    plan::expand_ssh_tokens("key-%z", tokens, error);
    CHECK(error == "unknown token \"%z\" (deployd knows %h %n %r %u %p %d %%)");
  }

  TEST_CASE("ssh_config pattern lists: commas, negation, case") {
    CHECK(plan::match_ssh_pattern_list("Web1", "db,web*"));
    CHECK_FALSE(plan::match_ssh_pattern_list("web1", "web*,!web1"));
    CHECK_FALSE(plan::match_ssh_pattern_list("web1", "!db"));
  }

  TEST_CASE("hosts: ssh_config values apply below the plan, each with its source") {
    TempFolder dir;
    LoadResult result =
        with_config(dir, R"(Host web
  HostName 127.0.0.7
  Port 2201
  User cfg-user
  IdentityFile ~/.ssh/%n_%r_%p
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile ~/.ssh/kh_%h other_file
  ConnectTimeout 3
  ServerAliveInterval 0
  ProxyJump jump1,ssh://u@jump2:2200
  SendEnv LANG
)",
                    R"({"hosts": ["web"], "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    REQUIRE(result.errors.empty());
    const Host& web = result.plan->hosts.at(0);
    const std::string unused = dir.write("unused", "");
    const std::string cfg = unused.substr(0, unused.size() - 6) + "ssh_config";
    CHECK(web.address == "127.0.0.7");
    CHECK(web.port == 2201);
    CHECK(web.user == "cfg-user");
    CHECK(web.identities == std::vector<std::string>{"/home/me/.ssh/web_cfg-user_2201"});
    CHECK(web.identities_only);
    CHECK(web.host_key_check == HostKeyCheck::Off);
    CHECK(web.known_hosts == "/home/me/.ssh/kh_127.0.0.7");
    CHECK(web.connect_timeout == Duration(3000));
    CHECK(web.keepalive == Duration(0));
    CHECK(web.via == std::vector<std::string>{"jump1", "u@jump2:2200"});
    CHECK(web.sources.at("address") == "ssh_config " + cfg + ":2");
    CHECK(web.sources.at("port") == "ssh_config " + cfg + ":3");
    CHECK(web.sources.at("identity") == "ssh_config " + cfg + ":5");
    CHECK(web.sources.at("via") == "ssh_config " + cfg + ":11");
    CHECK(web.sources.at("ssh_config") == "command line -F");
    REQUIRE(result.warnings.size() == 1);
    CHECK(result.warnings[0].to_string() == cfg + ":12:3: unsupported keyword \"SendEnv\" ignored");
  }

  TEST_CASE("hosts: precedence is plan host > plan defaults > ssh_config > built-in") {
    TempFolder dir;
    LoadResult result = with_config(
        dir, "Host *\n  User cfg-user\n  Port 2201\n  ConnectTimeout 3\n  IdentityFile cfg_key\n",
        R"({"defaults": {"user": "default-user", "port": 2300},
            "hosts": ["a", {"name": "b", "port": 2400, "address": "127.0.0.9"}, "c@d:2500"],
            "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    REQUIRE(result.errors.empty());
    const auto& hosts = result.plan->hosts;
    CHECK(hosts[0].user == "default-user");
    CHECK(hosts[0].sources.at("user") == "plan defaults");
    CHECK(hosts[0].port == 2300);
    CHECK(hosts[0].connect_timeout == Duration(3000));
    CHECK(hosts[0].sources.at("keepalive") == "default");
    CHECK(hosts[0].address == "a");
    CHECK(hosts[0].sources.at("address") == "default");
    CHECK(hosts[1].port == 2400);
    CHECK(hosts[1].sources.at("port") == "plan host");
    CHECK(hosts[1].address == "127.0.0.9");
    CHECK(hosts[1].sources.at("address") == "plan host");
    CHECK(hosts[2].user == "c");
    CHECK(hosts[2].port == 2500);
    CHECK(hosts[2].identities == std::vector<std::string>{"cfg_key"});
  }

  TEST_CASE("a jump host that is no plan host gets its own ssh_config entry, not the target's keys") {
    TempFolder dir;
    LoadResult result = with_config(dir, R"(Host gate
  HostName 127.0.0.3
  Port 2202
  User gate-user
  IdentityFile ~/.ssh/gate_key
  UserKnownHostsFile ~/.ssh/gate_known
  StrictHostKeyChecking accept-new
  ProxyJump elsewhere
Host *
  ConnectTimeout 7
)",
                                    R"({"defaults": {"password_env": "PW", "keepalive": 9},
            "hosts": [{"name": "web", "address": "127.0.0.9", "user": "web-user",
                       "identity": "web_key", "known_hosts": "web_known",
                       "password_env": "WEB_PW", "passphrase_env": "WEB_PASSPHRASE",
                       "via": ["gate", "ops@inner:2300", "bastion"]},
                      {"name": "bastion", "address": "127.0.0.4", "user": "b-user",
                       "password_env": "BASTION_PW", "via": "gate", "vars": {"x": 1}}],
            "tasks": {"t": {"on": "web", "steps": [{"run": "true"}]}}})");
    REQUIRE(result.errors.empty());
    const Host& web = result.plan->hosts.at(0);
    REQUIRE(web.via_hosts.size() == 3);
    const Host& gate = web.via_hosts[0];
    CHECK(gate.name == "gate");
    CHECK(gate.address == "127.0.0.3");
    CHECK(gate.port == 2202);
    CHECK(gate.user == "gate-user");
    CHECK(gate.identities == std::vector<std::string>{"/home/me/.ssh/gate_key"});
    CHECK(gate.known_hosts == "/home/me/.ssh/gate_known");
    CHECK(gate.host_key_check == HostKeyCheck::AcceptNew);
    CHECK(gate.connect_timeout == Duration(7000));
    CHECK(gate.keepalive == Duration(9000));  // no entry says: the plan defaults
    CHECK(gate.password_env.empty());  // neither the target's nor the defaults'
    CHECK(gate.passphrase_env.empty());
    CHECK(gate.via.empty());  // its ProxyJump is not followed: via is the whole path
    // `user@name:port` wins over the entry; with no entry: defaults, then built-in values.
    const Host& inner = web.via_hosts[1];
    CHECK(inner.address == "inner");
    CHECK(inner.port == 2300);
    CHECK(inner.user == "ops");
    CHECK(inner.identities.empty());
    CHECK(inner.sources.at("identity") == "default");
    CHECK(inner.known_hosts == "/home/me/.ssh/known_hosts");
    CHECK(inner.connect_timeout == Duration(7000));
    CHECK(inner.password_env.empty());
    // A plan host keeps its own keys, password included; not its via or vars.
    const Host& bastion = web.via_hosts[2];
    CHECK(bastion.address == "127.0.0.4");
    CHECK(bastion.user == "b-user");
    CHECK(bastion.password_env == "BASTION_PW");
    CHECK(bastion.via.empty());
    CHECK(bastion.vars.empty());
  }

  TEST_CASE("hosts: `\"ssh_config\": false` ignores the config; a missing default file is fine") {
    TempFolder dir;
    const std::string config = dir.write("cfg", "Host *\n  User cfg-user\n");
    LoadOptions options = testing::test_options();
    Plan off = testing::plan_text(R"({"defaults": {"ssh_config": false}, "hosts": ["a"],
                                   "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    CHECK(off.hosts[0].user == "me");
    CHECK(off.hosts[0].ssh_config == "");
    Plan by_path = testing::plan_text(R"({"hosts": [{"name": "a", "ssh_config": ")" + config +
                                      R"("}], "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    CHECK(by_path.hosts[0].user == "cfg-user");
    Plan none =
        testing::plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    CHECK(none.hosts[0].ssh_config == "/home/me/.ssh/config");
    CHECK(none.hosts[0].sources.at("ssh_config") == "default");
  }

  TEST_CASE("hosts: a config error or a missing -F file is a plan error naming the file") {
    TempFolder dir;
    LoadResult bad =
        with_config(dir, "Host a\n  Port 0\n",
                    R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    REQUIRE(bad.errors.size() == 1);
    // Every plan error has its line:column, in an ssh_config too (issue 14, bug 5).
    const std::string cfg = dir.write("ssh_config", "Host a\n  Port 0\n");  // the same file
    CHECK(bad.errors[0].to_string() ==
          cfg + ":2:3: bad Port \"0\" (expected a number from 1 to 65535)");
    LoadOptions options = testing::test_options();
    options.ssh_config = "/nonexistent/deployd-ssh-config";
    LoadResult missing = testing::load_text(
        R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "true"}]}}})", options);
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].to_string() ==
          "/nonexistent/deployd-ssh-config: cannot read ssh_config: no such file or directory");
    // A file the plan names is reported where the plan names it, with its line:column.
    CHECK(testing::errors(R"({"defaults": {"ssh_config": "/nonexistent/a"},
      "hosts": ["a", {"name": "b", "ssh_config": "/nonexistent/b"}], "tasks": {"t": {"steps": [{"run": "true"}]}}})") ==
          "plan.json:1:29: /defaults/ssh_config: cannot read ssh_config \"/nonexistent/a\": no "
          "such file "
          "or directory\n"
          "plan.json:2:50: /hosts/1/ssh_config: cannot read ssh_config \"/nonexistent/b\": no such "
          "file "
          "or directory");
  }

  TEST_CASE("hosts: -H names known only to ssh_config are resolved through it") {
    TempFolder dir;
    LoadOptions options = testing::test_options();
    options.ssh_config = dir.write("cfg", "Host alias\n  HostName 127.0.0.3\n  Port 2203\n");
    options.hosts = {"alias"};
    LoadResult result =
        testing::load_text(R"({"tasks": {"t": {"steps": [{"run": "true"}]}}})", options);
    REQUIRE(result.errors.empty());
    CHECK(result.plan->hosts.at(0).address == "127.0.0.3");
    CHECK(result.plan->hosts.at(0).port == 2203);
  }

  TEST_CASE("hosts: a bad token in IdentityFile is an error at its line") {
    TempFolder dir;
    LoadResult result =
        with_config(dir, "Host *\n  IdentityFile key_%q\n",
                    R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].line == 2);
    CHECK(result.errors[0].message == "unknown token \"%q\" (deployd knows %h %n %r %u %p %d %%)");
  }
}
