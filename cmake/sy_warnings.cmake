# Warnings are errors in our own code; third-party headers are included as SYSTEM.
set(SY_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Werror)
# GCC 12 reports -Wrestrict false positives inside libstdc++'s std::string at -O2/-O3 (GCC bug
# 105651, fixed in 13); they are not in our code, so only that warning is relaxed there.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND SY_WARNING_FLAGS -Wno-restrict)
endif()
