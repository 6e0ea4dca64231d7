// SPDX-License-Identifier: MIT
// Asio's coroutine headers (awaitable, co_spawn, use_awaitable): include this, never them.
#pragma once

// Boost 1.74's Asio (1.18) calls std::exchange in these three headers without including <utility>,
// and g++ 12's standard headers no longer bring it in on the way ("'exchange' is not a member of
// 'std'"), so <utility> must come before them. Asio's other headers compile on their own.
#include <utility>
// (This comment keeps clang-format from sorting <utility> below the Asio headers.)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
