// CPrefetch is a header (include/CPrefetch.h); SwiftPM wants a source file in a C target.
#include "CPrefetch.h"
