#pragma once
#include <cstdio>
#include <string>

namespace sample {

const long million = 1'000'000;
const std::string quoted = "a \"quoted\" // string";
@FILLER@
const char *raw = R"x(raw

// not a comment

)x";

}  // namespace sample

int main() {
    std::printf("%ld|%s|%s\n", sample::million, sample::quoted.c_str(), sample::raw);
    return 0;
}
