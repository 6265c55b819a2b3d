import KeygateCore
import KeygateStore
import PostgresNIO

/// BYOKKeyStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func addBYOKKey(_ key: BYOKKeyRecord) async throws {
        throw StoreError.unavailable("PostgresStore.addBYOKKey is not implemented yet")
    }

    public func byokKeys(organizationID: String) async throws -> [BYOKKeyRecord] {
        throw StoreError.unavailable("PostgresStore.byokKeys is not implemented yet")
    }

    public func byokKey(id: String, organizationID: String) async throws -> BYOKKeyRecord? {
        throw StoreError.unavailable("PostgresStore.byokKey is not implemented yet")
    }

    public func activeBYOKKey(organizationID: String, provider: String) async throws -> BYOKKeyRecord? {
        throw StoreError.unavailable("PostgresStore.activeBYOKKey is not implemented yet")
    }

    public func setBYOKKeyStatus(id: String, organizationID: String, status: BYOKKeyStatus, validationResult: String?) async throws -> Bool {
        throw StoreError.unavailable("PostgresStore.setBYOKKeyStatus is not implemented yet")
    }

    public func deleteBYOKKey(id: String, organizationID: String) async throws -> Bool {
        throw StoreError.unavailable("PostgresStore.deleteBYOKKey is not implemented yet")
    }

    public func allBYOKKeys() async throws -> [BYOKKeyRecord] {
        throw StoreError.unavailable("PostgresStore.allBYOKKeys is not implemented yet")
    }

    public func replaceBYOKCiphertext(id: String, from old: [UInt8], to new: [UInt8], masterKeyID: String) async throws -> Bool {
        throw StoreError.unavailable("PostgresStore.replaceBYOKCiphertext is not implemented yet")
    }
}
