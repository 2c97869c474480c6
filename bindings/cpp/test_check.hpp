// SPDX-License-Identifier: Apache-2.0
// bindings/cpp/test_check.hpp - what the C++ binding's test programs
// share: CHECK(cond), which counts every check in g_checks and prints and
// counts each failed one in g_failures. Each test is a program of its own
// that includes this once.
#ifndef CHIO_TEST_CHECK_HPP
#define CHIO_TEST_CHECK_HPP

#include <cstdio>

namespace
{

int g_failures = 0;
int g_checks = 0;

} // namespace

#define CHECK(cond)                                                                     \
    do {                                                                                \
        g_checks++;                                                                     \
        if (!(cond)) {                                                                  \
            g_failures++;                                                               \
            std::fprintf(stderr, "FAIL %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
        }                                                                               \
    } while (0)

#endif
