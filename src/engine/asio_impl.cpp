// SPDX-License-Identifier: MIT
// Asio's implementation, compiled once for the whole program (BOOST_ASIO_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
