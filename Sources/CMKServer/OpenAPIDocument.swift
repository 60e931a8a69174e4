/// The OpenAPI 3.1 document of the sidecar, served at `/openapi.json`: the source of truth for
/// clients. Built into the binary so an installed cmkctl serves it from anywhere; a test holds it and
/// the router's routes to each other and validates it as OpenAPI 3.1.
public enum OpenAPIDocument {
    public static func bytes() -> [UInt8] {
        Array(text.utf8)
    }

    public static let text = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "cmkctl sidecar",
    "version": "1.0.0",
    "description": "Tenant-scoped envelope encryption over HTTP (cmkctl serve). Errors are RFC 9457 problem documents with a stable code."
  },
  "servers": [
    {
      "url": "http://127.0.0.1:8765"
    }
  ],
  "security": [
    {
      "bearer": []
    }
  ],
  "paths": {
    "/v1/tenants/{tenant}": {
      "get": {
        "operationId": "describeTenant",
        "summary": "A tenant's state, key generation, context identifier and regions (no key material).",
        "parameters": [
          {
            "name": "tenant",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "The tenant id."
          }
        ],
        "responses": {
          "200": {
            "description": "The tenant.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Tenant"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/TenantUnknown"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          },
          "503": {
            "$ref": "#/components/responses/KMSUnavailable"
          }
        }
      }
    },
    "/v1/tenants/{tenant}/encrypt": {
      "post": {
        "operationId": "encrypt",
        "summary": "Encrypt under the tenant's current key generation.",
        "parameters": [
          {
            "name": "tenant",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "The tenant id."
          },
          {
            "name": "Cmk-Encryption-Context",
            "in": "header",
            "required": false,
            "description": "With application/octet-stream: the caller's encryption context as a JSON object of strings.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/EncryptRequest"
              }
            },
            "application/octet-stream": {
              "schema": {
                "type": "string",
                "contentMediaType": "application/octet-stream"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The message.",
            "headers": {
              "Cmk-Key-Generation": {
                "description": "The key generation the message is (or was) under.",
                "schema": {
                  "type": "integer"
                }
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/EncryptResult"
                }
              },
              "application/octet-stream": {
                "schema": {
                  "type": "string",
                  "contentMediaType": "application/octet-stream"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/TenantUnknown"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          },
          "503": {
            "$ref": "#/components/responses/KMSUnavailable"
          }
        }
      }
    },
    "/v1/tenants/{tenant}/decrypt": {
      "post": {
        "operationId": "decrypt",
        "summary": "Decrypt a message of any generation the tenant has.",
        "parameters": [
          {
            "name": "tenant",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "The tenant id."
          },
          {
            "name": "Cmk-Encryption-Context",
            "in": "header",
            "required": false,
            "description": "With application/octet-stream: the caller's encryption context as a JSON object of strings.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/DecryptRequest"
              }
            },
            "application/octet-stream": {
              "schema": {
                "type": "string",
                "contentMediaType": "application/octet-stream"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The plaintext.",
            "headers": {
              "Cmk-Key-Generation": {
                "description": "The key generation the message is (or was) under.",
                "schema": {
                  "type": "integer"
                }
              }
            },
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DecryptResult"
                }
              },
              "application/octet-stream": {
                "schema": {
                  "type": "string",
                  "contentMediaType": "application/octet-stream"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/TenantUnknown"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          },
          "503": {
            "$ref": "#/components/responses/KMSUnavailable"
          },
          "422": {
            "$ref": "#/components/responses/DecryptFailed"
          }
        }
      }
    },
    "/v1/tenants/{tenant}/batch/encrypt": {
      "post": {
        "operationId": "batchEncrypt",
        "summary": "Encrypt many items; results and failures keyed by the caller's item ids.",
        "parameters": [
          {
            "name": "tenant",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "The tenant id."
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "items"
                ],
                "properties": {
                  "items": {
                    "type": "object",
                    "additionalProperties": {
                      "$ref": "#/components/schemas/EncryptRequest"
                    }
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Per-item results and failures.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "results",
                    "failures"
                  ],
                  "properties": {
                    "results": {
                      "type": "object",
                      "additionalProperties": {
                        "$ref": "#/components/schemas/EncryptResult"
                      }
                    },
                    "failures": {
                      "type": "object",
                      "additionalProperties": {
                        "$ref": "#/components/schemas/ItemFailure"
                      }
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/TenantUnknown"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          },
          "503": {
            "$ref": "#/components/responses/KMSUnavailable"
          }
        }
      }
    },
    "/v1/tenants/{tenant}/batch/decrypt": {
      "post": {
        "operationId": "batchDecrypt",
        "summary": "Decrypt many items; results and failures keyed by the caller's item ids.",
        "parameters": [
          {
            "name": "tenant",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "The tenant id."
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "items"
                ],
                "properties": {
                  "items": {
                    "type": "object",
                    "additionalProperties": {
                      "$ref": "#/components/schemas/DecryptRequest"
                    }
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Per-item results and failures.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "results",
                    "failures"
                  ],
                  "properties": {
                    "results": {
                      "type": "object",
                      "additionalProperties": {
                        "$ref": "#/components/schemas/DecryptResult"
                      }
                    },
                    "failures": {
                      "type": "object",
                      "additionalProperties": {
                        "$ref": "#/components/schemas/ItemFailure"
                      }
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/TenantUnknown"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          },
          "503": {
            "$ref": "#/components/responses/KMSUnavailable"
          }
        }
      }
    },
    "/v1/tenants/{tenant}/rewrap": {
      "post": {
        "operationId": "rewrap",
        "summary": "Re-encrypt a message under the tenant's current generation, with the context it carried.",
        "parameters": [
          {
            "name": "tenant",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "The tenant id."
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "ciphertext"
                ],
                "properties": {
                  "ciphertext": {
                    "type": "string",
                    "contentEncoding": "base64"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The new message.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/EncryptResult"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/TenantUnknown"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "500": {
            "$ref": "#/components/responses/Internal"
          },
          "503": {
            "$ref": "#/components/responses/KMSUnavailable"
          },
          "422": {
            "$ref": "#/components/responses/DecryptFailed"
          }
        }
      }
    },
    "/v1/events/kms": {
      "post": {
        "operationId": "receiveKMSEvent",
        "summary": "A KMS event (EventBridge API destination or Standard Webhooks sender): recorded, then a probe of the tenants whose keys it names. A hint only: only cmkctl's own probe can suspend a tenant.",
        "security": [
          {
            "apiKey": []
          },
          {
            "standardWebhooks": []
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/KMSEvent"
              }
            }
          }
        },
        "responses": {
          "202": {
            "description": "Accepted (checks started), ignored (the event cannot revoke or names no key in scope) or repeated (received before).",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "outcome"
                  ],
                  "properties": {
                    "outcome": {
                      "type": "string",
                      "enum": [
                        "accepted",
                        "ignored",
                        "repeated"
                      ]
                    },
                    "tenants": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      }
                    },
                    "reason": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/InvalidRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "503": {
            "$ref": "#/components/responses/StoreUnavailable"
          }
        }
      }
    },
    "/health/live": {
      "get": {
        "operationId": "live",
        "summary": "The process answers.",
        "security": [],
        "responses": {
          "200": {
            "description": "Live.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    },
    "/health/ready": {
      "get": {
        "operationId": "ready",
        "summary": "Every readiness check passes (the store answers, ...).",
        "security": [],
        "responses": {
          "200": {
            "description": "Ready.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Readiness"
                }
              }
            }
          },
          "503": {
            "description": "A check failed.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Readiness"
                }
              }
            }
          }
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "summary": "Prometheus text exposition.",
        "security": [],
        "responses": {
          "200": {
            "description": "Metrics.",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document.",
        "security": [],
        "responses": {
          "200": {
            "description": "The OpenAPI document.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from the server's --token-file."
      },
      "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Cmk-Api-Key",
        "description": "A per-tenant key from cmkctl webhooks issue-key: events sent with it can only make cmkctl probe that tenant's keys."
      },
      "standardWebhooks": {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": "Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature (v1, HMAC-SHA256 over id.timestamp.body) with a secret of the server's --webhook-secret-file."
      }
    },
    "schemas": {
      "KMSEvent": {
        "type": "object",
        "description": "An EventBridge event as API destinations send it.",
        "required": [
          "id",
          "detail-type",
          "source",
          "account",
          "region",
          "detail"
        ],
        "properties": {
          "version": {
            "type": "string"
          },
          "id": {
            "type": "string"
          },
          "detail-type": {
            "type": "string"
          },
          "source": {
            "type": "string"
          },
          "account": {
            "type": "string"
          },
          "time": {
            "type": "string"
          },
          "region": {
            "type": "string"
          },
          "resources": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "detail": {
            "type": "object"
          }
        }
      },
      "Context": {
        "type": "object",
        "additionalProperties": {
          "type": "string"
        },
        "description": "The caller's encryption context; the tenant's own pair is added by the server and may not be given."
      },
      "EncryptRequest": {
        "type": "object",
        "required": [
          "plaintext"
        ],
        "properties": {
          "plaintext": {
            "type": "string",
            "contentEncoding": "base64"
          },
          "context": {
            "$ref": "#/components/schemas/Context"
          }
        }
      },
      "EncryptResult": {
        "type": "object",
        "required": [
          "ciphertext",
          "generation"
        ],
        "properties": {
          "ciphertext": {
            "type": "string",
            "contentEncoding": "base64"
          },
          "generation": {
            "type": "integer"
          }
        }
      },
      "DecryptRequest": {
        "type": "object",
        "required": [
          "ciphertext"
        ],
        "properties": {
          "ciphertext": {
            "type": "string",
            "contentEncoding": "base64"
          },
          "context": {
            "$ref": "#/components/schemas/Context"
          }
        }
      },
      "DecryptResult": {
        "type": "object",
        "required": [
          "plaintext",
          "generation"
        ],
        "properties": {
          "plaintext": {
            "type": "string",
            "contentEncoding": "base64"
          },
          "generation": {
            "type": "integer"
          }
        }
      },
      "ItemFailure": {
        "type": "object",
        "required": [
          "code",
          "message"
        ],
        "properties": {
          "code": {
            "type": "string"
          },
          "message": {
            "type": "string"
          }
        }
      },
      "Tenant": {
        "type": "object",
        "required": [
          "tenant",
          "state",
          "generation",
          "regions"
        ],
        "properties": {
          "tenant": {
            "type": "string"
          },
          "state": {
            "type": "string"
          },
          "generation": {
            "type": "integer"
          },
          "contextIdentifier": {
            "type": [
              "string",
              "null"
            ]
          },
          "regions": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        }
      },
      "Readiness": {
        "type": "object",
        "required": [
          "status",
          "checks"
        ],
        "properties": {
          "status": {
            "type": "string",
            "enum": [
              "ready",
              "not-ready"
            ]
          },
          "checks": {
            "type": "object",
            "additionalProperties": {
              "type": "string",
              "enum": [
                "ok",
                "failed"
              ]
            }
          }
        }
      },
      "Problem": {
        "type": "object",
        "required": [
          "type",
          "title",
          "status",
          "detail",
          "code"
        ],
        "properties": {
          "type": {
            "type": "string",
            "format": "uri"
          },
          "title": {
            "type": "string"
          },
          "status": {
            "type": "integer"
          },
          "detail": {
            "type": "string"
          },
          "code": {
            "type": "string",
            "enum": [
              "invalid-request",
              "unauthorized",
              "tenant-suspended",
              "key-revoked",
              "tenant-unknown",
              "not-found",
              "method-not-allowed",
              "payload-too-large",
              "decrypt-failed",
              "kms-unavailable",
              "internal"
            ]
          }
        }
      }
    },
    "responses": {
      "InvalidRequest": {
        "description": "invalid-request: a body, base64 value or context the route does not take.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "Unauthorized": {
        "description": "unauthorized: no bearer token, or one the server does not accept.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "Forbidden": {
        "description": "tenant-suspended: the tenant is suspended or offboarded; key-revoked: the tenant's KMS key refused.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "TenantUnknown": {
        "description": "tenant-unknown: no such tenant, or one without an encryption-context identifier yet.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "PayloadTooLarge": {
        "description": "payload-too-large: a JSON body over --max-body-bytes (send large data as application/octet-stream).",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "DecryptFailed": {
        "description": "decrypt-failed: malformed, tampered with, or not this tenant's message.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "Internal": {
        "description": "internal: an unexpected failure; the server's log has the details.",
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "StoreUnavailable": {
        "description": "store-unavailable: the event could not be recorded; retry after Retry-After seconds.",
        "headers": {
          "Retry-After": {
            "schema": {
              "type": "integer"
            }
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      },
      "KMSUnavailable": {
        "description": "kms-unavailable: the KMS did not answer; retry after Retry-After seconds.",
        "headers": {
          "Retry-After": {
            "schema": {
              "type": "integer"
            }
          }
        },
        "content": {
          "application/problem+json": {
            "schema": {
              "$ref": "#/components/schemas/Problem"
            }
          }
        }
      }
    }
  }
}
"""#
}
