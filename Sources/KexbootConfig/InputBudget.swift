import KexbootCore

/// What one parse has read so far, against `ConfigLimits.maxIncludedFiles` and
/// `maxInputBytes`: every included file and every text parsed goes through here, so a
/// config that includes itself three times stops after a thousand reads, not 3¹⁶.
struct InputBudget {
    private(set) var includedFiles = 0
    private(set) var bytes = 0

    /// Why an included file was not read.
    struct Refusal: Error {
        let message: String
        /// A limit of this budget (reported once per parse), not a problem with the file.
        let isLimit: Bool
    }

    /// Counts `count` bytes of text parsed (or about to be); `false` (nothing counted) when
    /// they would take the parse over `maxInputBytes`.
    mutating func charge(bytes count: Int) -> Bool {
        guard count <= ConfigLimits.maxInputBytes - bytes else { return false }
        bytes += count
        return true
    }

    /// Starts the byte count again: GRUB's second phase, running the entries, gets the
    /// same allowance as running the config did.
    mutating func renewBytes() {
        bytes = 0
    }

    /// Reads a file the config includes (`included: false`: the config itself) and counts
    /// it, and its bytes unless the caller counts them as it parses them (`charge: false`).
    ///
    /// A file is read only if its bytes fit in what is left of `maxInputBytes`.
    mutating func read(_ path: String, from files: any FileSource, limit: Int = 64 << 20,
                       included: Bool = true, charge: Bool = true) -> Result<[UInt8], Refusal> {
        guard !included || includedFiles < ConfigLimits.maxIncludedFiles else {
            return .failure(Refusal(message: "more than \(ConfigLimits.maxIncludedFiles) files included in all (includes fanning out, or a loop?); \(path) and the rest are not read", isLimit: true))
        }
        let left = ConfigLimits.maxInputBytes - bytes
        let tooMuch = Refusal(message: "more than \(ConfigLimits.describe(bytes: ConfigLimits.maxInputBytes)) of config read in all; \(path) and the rest are not read", isLimit: true)
        guard left > 0 else { return .failure(tooMuch) }
        if included { includedFiles += 1 }
        do {
            let content = try files.read(path, limit: min(limit, left))
            if charge { bytes += content.count }
            return .success(content)
        } catch let error as KexbootError where error.code == .limitExceeded && left < limit {
            return .failure(tooMuch)
        } catch {
            return .failure(Refusal(message: "\(error)", isLimit: false))
        }
    }
}
