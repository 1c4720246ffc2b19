# Warnings are errors in our own code; third-party headers are included as SYSTEM.
set(SY_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Werror)
