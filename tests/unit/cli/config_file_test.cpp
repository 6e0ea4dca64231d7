// SPDX-License-Identifier: MIT
// Tests of src/cli/config_file.cpp: the config file of defaults, its errors and its precedence.
#include "cli/config_file.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/temp_folder.hpp"

namespace deployd::cli {

TEST_SUITE("cli") {
  TEST_CASE("a config file's values; its paths resolve against its folder") {
    testing::TempFolder folder;
    const std::string path = folder.write(
        "config.json",
        R"({"inventory": ["hosts.ini", "/etc/deployd/more.yml"], "forks": 20, "output": "group",
            "color": "never", "log_dir": "runs", "ssh_config": "ssh_config"})");
    ConfigLookup lookup = read_config(path);
    REQUIRE(lookup.errors.empty());
    REQUIRE(lookup.config);
    const ConfigFile& config = *lookup.config;
    CHECK(config.inventories == std::vector<std::string>{(folder.path() / "hosts.ini").string(),
                                                         "/etc/deployd/more.yml"});
    CHECK(config.forks == std::optional<int>(20));
    CHECK(config.output == std::optional<std::string>("group"));
    CHECK(config.color == std::optional<std::string>("never"));
    CHECK(config.log_dir == std::optional<std::string>((folder.path() / "runs").string()));
    CHECK(config.ssh_config == std::optional<std::string>((folder.path() / "ssh_config").string()));
  }

  TEST_CASE("config errors name the file, line and column, with a suggestion") {
    testing::TempFolder folder;
    const std::string path = folder.write(
        "config.json",
        "{\n  \"inventroy\": \"hosts.ini\",\n  \"forks\": 0,\n  \"output\": \"grouped\"\n}\n");
    ConfigLookup lookup = read_config(path);
    CHECK_FALSE(lookup.config);
    REQUIRE(lookup.errors.size() == 3);
    CHECK(lookup.errors[0].to_string() ==
          path + ":2:3: unknown key \"inventroy\" (did you mean \"inventory\"?)");
    CHECK(lookup.errors[1].to_string() ==
          path + ":3:12: /forks: expected a whole number of hosts from 1 to 1000000");
    CHECK(lookup.errors[2].to_string() == path +
                                              ":4:13: /output: expected stream, group, json, got "
                                              "\"grouped\" (did you mean \"group\"?)");
  }

  TEST_CASE("a config file that is not JSON says where it stops being JSON") {
    testing::TempFolder folder;
    const std::string path = folder.write("config.json", "{\"forks\": 4,}\n");
    ConfigLookup lookup = read_config(path);
    REQUIRE(lookup.errors.size() == 1);
    CHECK(lookup.errors[0].to_string().starts_with(path + ":1:"));
  }

  TEST_CASE("the command line wins over the config file; its inventories wait for use") {
    ConfigFile config;
    config.path = "/x/config.json";
    config.inventories = {"/x/hosts.ini"};
    config.forks = 20;
    config.output = "json";
    config.log_dir = "/x/runs";
    Options options;
    options.forks = 5;
    options.given = {"--forks"};
    apply_config(config, options);
    CHECK(options.forks == 5);
    CHECK(options.output == OutputMode::Json);
    CHECK(options.log_dir == "/x/runs");
    CHECK(options.inventories.empty());
    CHECK(options.config_inventories == std::vector<std::string>{"/x/hosts.ini"});
    CHECK(options.config_file == "/x/config.json");

    Options quiet;  // -q: a default of json gives way to the summary
    quiet.quiet = true;
    apply_config(config, quiet);
    CHECK(quiet.output == OutputMode::Stream);
  }

  TEST_CASE("deployd config says which file, and where each value comes from") {
    ::unsetenv("DEPLOYD_INVENTORY");
    ConfigLookup lookup;
    lookup.config = ConfigFile{.path = "/x/config.json",
                               .found_by = "DEPLOYD_CONFIG",
                               .inventories = {"/x/hosts.ini"},
                               .forks = 20};
    CHECK(describe_config(lookup) ==
          "config file: /x/config.json (found by DEPLOYD_CONFIG)\n"
          "inventory: /x/hosts.ini (config file /x/config.json)\n"
          "forks: 20 (config file /x/config.json)\n"
          "output: stream (default)\n"
          "color: auto (default)\n"
          "log_dir: .deployd/runs beside the plan (default)\n"
          "ssh_config: the plan's ssh_config, else ~/.ssh/config (default)\n");
    ConfigLookup none;
    none.searched = {".deployd/config.json", "/home/u/.config/deployd/config.json"};
    CHECK(describe_config(none).starts_with(
        "config file: none (looked for .deployd/config.json, /home/u/.config/deployd/config.json)\n"
        "inventory: none (default: the plan's hosts, or -i, or -H)\n"));
  }
}

}  // namespace deployd::cli
