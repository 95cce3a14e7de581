#pragma once
// Finishes a FlatBuffers builder with `root` and returns the root table, for codec tests that
// build wire tables by hand. Header-only: the caller links tidemq_schemas.
#include <flatbuffers/flatbuffers.h>

namespace tidemq::test {

template <typename T>
const T* finish(flatbuffers::FlatBufferBuilder& fbb, flatbuffers::Offset<T> root) {
  fbb.Finish(root);
  return flatbuffers::GetRoot<T>(fbb.GetBufferPointer());
}

}  // namespace tidemq::test
