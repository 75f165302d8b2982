import Foundation
import KexbootTestSupport

extension Shell {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
}
