// SPDX-License-Identifier: MIT
// Asio's implementation, compiled once for the whole program (BOOST_ASIO_SEPARATE_COMPILATION).
#include <utility>  // first: Asio 1.18 with g++ 12 needs std::exchange (ssh-facts.md)
// (This comment keeps clang-format from sorting <utility> below the Asio headers.)

#include <boost/asio/impl/src.hpp>
