// Inputs, outputs, events and journals carry JSON values: a module that runs workflows has them
// without importing CMKJSON itself.
@_exported import enum CMKJSON.JSONValue
@_exported import struct CMKJSON.JSONObject
@_exported import struct CMKJSON.JSONError
