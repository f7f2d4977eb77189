// Table pages taken from the environment before a change is applied
// (prepare), so the change itself cannot run out halfway (commit). The
// pages are chained through their first word; nothing else is needed.
#pragma once

#include "passage/stage2/env.h"

namespace passage::stage2 {

[[noreturn]] void stage2_invariant_failed(const char* what);

template <Stage2Env Env>
class Reserve {
public:
    explicit Reserve(Env& env) : env_(env) {}
    Reserve(const Reserve&) = delete;
    Reserve& operator=(const Reserve&) = delete;
    ~Reserve() { release(); }

    // Takes `count` pages, or none at all.
    bool fill(usize count)
    {
        for (usize i = 0; i < count; ++i) {
            Result<PhysAddr> page = env_.alloc_pages(1);
            if (!page) {
                release();
                return false;
            }
            *env_.table(*page) = head_.value;
            head_ = *page;
            ++count_;
        }
        return true;
    }

    // One page; the prepare step counted it, so running dry is a bug.
    PhysAddr take()
    {
        if (count_ == 0) stage2_invariant_failed("stage-2 reserve ran dry");
        PhysAddr page = head_;
        head_ = PhysAddr(*env_.table(page));
        --count_;
        return page;
    }

    void release()
    {
        while (count_ > 0) env_.free_pages(take(), 1);
    }

    usize count() const { return count_; }

private:
    Env& env_;
    PhysAddr head_{};
    usize count_ = 0;
};

}  // namespace passage::stage2
