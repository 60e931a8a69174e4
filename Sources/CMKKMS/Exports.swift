// Probe reports and key policies are JSON values: a module that uses KMS has them without
// importing CMKJSON itself.
@_exported import enum CMKJSON.JSONValue
@_exported import struct CMKJSON.JSONObject
@_exported import struct CMKJSON.JSONError
