// SPDX-License-Identifier: MIT
// Masks known secret values in events before any reporter sees them, as CI systems do.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/pattern_set.hpp"
#include "deployd/reporter.hpp"

namespace deployd::base {

/// A Reporter in front of another that replaces every occurrence of a known secret value with
/// `***` in the texts that may carry one: output lines, step names, step and host errors.
/// The engine adds values as it learns them (what a `secret` step registers, `password_env`
/// passwords); events reported before a value is added are not changed.
///
/// Masking is linear in the text (Aho-Corasick, see pattern_set.hpp), however many values or
/// lines are known. A value learned on one host is masked in every host's events when it is at
/// least kMinEveryHostLength long, else only in that host's: one host's short secret line
/// ("true", "done") must not blank a common word in every other host's output.
///
/// Building the automata of a huge value (a 16 MiB secret takes seconds) must not hold the
/// event loop: with build_later(), additions are built in slices of kSliceSteps transitions, one
/// per turn of the loop, and the events that arrive meanwhile are held back and passed on, in
/// order and masked, once the build is complete. Nothing unmasked ever passes.
class SecretMask final : public Reporter {
 public:
  /// Values shorter than this are not masked: masking "1" or "ok" would hide every output.
  static constexpr std::size_t kMinLength = 4;
  /// A value learned on one host is masked on every host from this length on.
  static constexpr std::size_t kMinEveryHostLength = 16;
  /// A multi-line value larger than this is masked through its lines only, when they all can be.
  static constexpr std::size_t kMaxWholeValue = 1 << 20;
  static constexpr const char* kMask = "***";
  /// The work of one slice of a build: a few milliseconds on a quiet machine.
  static constexpr std::uint64_t kSliceSteps = std::uint64_t{1} << 15;

  /// Runs a function later, on the thread that calls on() (e.g. asio::post on the event loop).
  using Post = std::function<void(std::function<void()>)>;

  explicit SecretMask(Reporter& next) : next_(next) {}

  /// From now on, builds beyond one slice go on through `post`; without it, add() builds all.
  void build_later(Post post) { post_ = std::move(post); }
  /// Builds what is left now and passes on the events held meanwhile (the run ends at once).
  void flush();

  /// Masks `value` from now on, and each of its lines on its own, since output events come
  /// a line at a time. Too short values and lines are ignored. `host`: the host whose step
  /// learned it; empty: a value of the whole run (a password, what a local or run_once task
  /// registers), masked on every host whatever its length.
  void add(const std::string& value, const std::string& host = {});
  /// Masks `text` only as a whole (a hidden step's command or path: its lines may be common
  /// words like "done").
  void add_exact(const std::string& text, const std::string& host = {});

  /// `text`, from an event of `host`, with each run of bytes covered by known values replaced
  /// by one `***` (overlapping or adjacent values make one run). Only what is built masks.
  std::string mask(std::string text, const std::string& host = {}) const;
  /// True while an addition is not built yet (events are held back).
  bool is_building() const { return is_building_; }

  void on(const Event& event) override;
  void finish() override;

  /// Transitions of every automaton so far (see PatternSet::steps): tests check linear work.
  std::uint64_t steps() const;

 private:
  void add_patterns(std::vector<std::string> patterns, const std::string& host);
  /// One slice of the build; when complete, passes on the held events, else posts the next.
  void build_slice();
  /// Builds for about `budget` transitions; true when nothing is left to build.
  bool build(std::uint64_t budget);
  void pass_on(const Event& event);

  Reporter& next_;
  PatternSet every_host_;
  std::unordered_map<std::string, PatternSet> by_host_;
  Post post_;
  bool is_slice_posted_ = false;
  bool is_building_ = false;  ///< some set has a queued addition (kept: on() asks per event)
  std::deque<Event> held_;    ///< events that came while a build was not complete
  /// Posted slices hold a weak reference: one that runs after the mask is gone does nothing.
  std::shared_ptr<SecretMask*> self_ = std::make_shared<SecretMask*>(this);
};

}  // namespace deployd::base
