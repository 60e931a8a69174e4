import Foundation

/// One item in a backup's plaintext: a JSON line `{"column","ciphertext","id","source"}` with the
/// stored ciphertext in base64, exactly as the data source held it.
///
/// An integer id is a JSON number and a text id a JSON string, so a restore writes the row back
/// under the id type the source uses.
struct BackupLine: Sendable, Equatable, Codable {
    let source: String
    let id: ItemID
    let column: String
    let ciphertext: [UInt8]

    init(source: String, item: DataSourceItem) {
        self.source = source
        self.id = item.id
        self.column = item.column
        self.ciphertext = item.ciphertext
    }

    var item: DataSourceItem { DataSourceItem(id: id, column: column, ciphertext: ciphertext) }

    enum CodingKeys: String, CodingKey { case source, id, column, ciphertext }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        source = try container.decode(String.self, forKey: .source)
        column = try container.decode(String.self, forKey: .column)
        if let number = try? container.decode(Int64.self, forKey: .id) {
            id = .integer(number)
        } else {
            id = .text(try container.decode(String.self, forKey: .id))
        }
        guard let bytes = Data(base64Encoded: try container.decode(String.self, forKey: .ciphertext)) else {
            throw DecodingError.dataCorruptedError(forKey: .ciphertext, in: container, debugDescription: "not base64")
        }
        ciphertext = [UInt8](bytes)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(source, forKey: .source)
        switch id {
        case .integer(let number): try container.encode(number, forKey: .id)
        case .text(let text): try container.encode(text, forKey: .id)
        }
        try container.encode(column, forKey: .column)
        try container.encode(Data(ciphertext).base64EncodedString(), forKey: .ciphertext)
    }
}
