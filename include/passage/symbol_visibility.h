// Forced into every translation unit of the image (cmake/flags.cmake): every
// symbol, declarations included, has hidden visibility. passage is one
// position-independent image with nothing to interpose, so calls and data
// references can be direct and PC-relative instead of going through the GOT
// (which -fPIE -fno-plt would otherwise use for anything in another file).
#pragma GCC visibility push(hidden)
