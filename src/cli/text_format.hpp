#pragma once
// Text renderings of the verbs' results (the non-JSON side of Output). Pure functions: they
// return the text, Output decides where it goes.

#include "coral/core/config.hpp"
#include "coral/core/object_id.hpp"
#include "coral/vcs/operations.hpp"
#include "coral/vcs/maintenance.hpp"
#include "coral/vcs/merge.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace coral::cli {

std::string short_id(const core::ObjectId& id);  // first 8 hex digits
std::string format_bytes(std::uint64_t bytes);   // "512 B", "1.2 GiB"
std::string format_number(double v);             // shortest round-trip form: "2.61"
std::string format_shape(const std::vector<std::uint64_t>& shape);  // "[4096,4096]"
std::string first_line(const std::string& message);

std::string format_add(const vcs::AddResult& r);
std::string format_rm(const vcs::RmResult& r);
std::string format_status(const vcs::StatusResult& r);
std::string format_status_porcelain(const vcs::StatusResult& r);
std::string format_commit_summary(const vcs::CommitResult& r);
std::string format_log(const std::vector<vcs::Commit>& commits, bool oneline);
std::string format_commit_header(const vcs::Commit& c);  // as in `log`: commit, Author, Date, message
// merge: the result on stdout (base, summary or the dry run's decisions, commit line) and the
// CONFLICT lines for stderr.
std::string format_merge(const vcs::MergeResult& r, const vcs::MergeOptions& options);
std::string format_merge_conflicts(const vcs::MergeResult& r);
std::string format_fsck(const vcs::FsckResult& r);
std::string format_stats(const vcs::StatsResult& r);  // an aligned table of sizes and counts
// maintenance_output.cpp
std::string format_gc(const vcs::GcResult& r);
std::string format_prune(const vcs::PruneResult& r);  // one line per commit, then gc's summary
std::string format_branches(const std::vector<vcs::BranchInfo>& branches);
std::string format_tags(const std::vector<vcs::TagInfo>& tags);
std::string format_config_list(const std::map<std::string, core::ConfigValue>& values, bool show_origin);

// diff_format.cpp
std::string format_show(const vcs::ShowResult& r);
std::string format_file_entry(const vcs::FileEntry& f);  // path, format, size, mode and a tensor table
std::string format_diff(const std::vector<vcs::FileDiff>& files);
std::string format_diff_stat(const std::vector<vcs::FileDiff>& files);
// Scientific notation with two significant digits and a short exponent: "1.2e-3", "0".
std::string format_sci(double v);

}  // namespace coral::cli
